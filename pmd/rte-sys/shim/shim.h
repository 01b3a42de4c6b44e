/*
 * weir's shim over DPDK's static-inline fast path.
 *
 * rte_eth_rx_burst, rte_eth_tx_burst, rte_pktmbuf_alloc and friends are
 * `static inline` in DPDK's headers and rte_errno / rte_lcore_id() are
 * thread-local macros, so Rust cannot call them through bindgen: these
 * out-of-line wrappers (compiled by build.rs with DPDK's own CFLAGS) can.
 * Each is a single call, so the cost is one extra call per burst.
 */
#ifndef WEIR_RTE_SHIM_H
#define WEIR_RTE_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

uint16_t shim_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
			   struct rte_mbuf **rx_pkts, uint16_t nb_pkts);
uint16_t shim_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
			   struct rte_mbuf **tx_pkts, uint16_t nb_pkts);

struct rte_mbuf *shim_pktmbuf_alloc(struct rte_mempool *mp);
int shim_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs,
			    unsigned int count);
void shim_pktmbuf_free(struct rte_mbuf *m);
uint16_t shim_pktmbuf_data_room_size(struct rte_mempool *mp);
uint16_t shim_pktmbuf_priv_size(struct rte_mempool *mp);
/* Return the calling lcore's cached objects of `mp` to the pool. */
void shim_mempool_cache_flush(struct rte_mempool *mp);

unsigned int shim_ring_enqueue_burst(struct rte_ring *r, void *const *objs,
				     unsigned int n, unsigned int *free_space);
unsigned int shim_ring_dequeue_burst(struct rte_ring *r, void **objs,
				     unsigned int n, unsigned int *available);
unsigned int shim_ring_count(const struct rte_ring *r);

int shim_errno(void);
unsigned int shim_lcore_id(void);

/*
 * rte_lpm / rte_lpm6, for weir's FIB benchmark (perf's `dpdk` feature).
 * Creation and updates are thin wrappers; the lookup loops run the whole
 * measured loop in C so that DPDK's static-inline lookups are inlined
 * into it (one call per pass, not per address). Each returns the sum of
 * the next hops found (NO_ROUTE = 0xffffffff counted for misses), which
 * the caller keeps so that nothing is optimized away.
 */
struct rte_lpm;
struct rte_lpm6;

struct rte_lpm *shim_lpm_create(const char *name, int socket_id,
				uint32_t max_rules, uint32_t number_tbl8s);
int shim_lpm_add(struct rte_lpm *lpm, uint32_t ip, uint8_t depth,
		 uint32_t next_hop);
int shim_lpm_delete(struct rte_lpm *lpm, uint32_t ip, uint8_t depth);
void shim_lpm_free(struct rte_lpm *lpm);
/* rte_lpm_lookup: 0 and *next_hop on a hit, -ENOENT on a miss. */
int shim_lpm_lookup(const struct rte_lpm *lpm, uint32_t ip,
		    uint32_t *next_hop);
/* rte_lpm_lookup_bulk on n <= 64 addresses; misses become 0xffffffff. */
void shim_lpm_lookup_bulk(const struct rte_lpm *lpm, const uint32_t *ips,
			  uint32_t *next_hops, unsigned int n);
/* rte_lpm_lookupx4 on 4 addresses; misses become defv. */
void shim_lpm_lookupx4(const struct rte_lpm *lpm, const uint32_t ips[4],
		       uint32_t hops[4], uint32_t defv);
/* rte_lpm_lookup on each of ips[0..n]. */
uint32_t shim_lpm_loop_single(const struct rte_lpm *lpm, const uint32_t *ips,
			      unsigned int n);
/* rte_lpm_lookup_bulk on bursts of `burst` (<= 64) of ips[0..n]. */
uint32_t shim_lpm_loop_bulk(const struct rte_lpm *lpm, const uint32_t *ips,
			    unsigned int n, unsigned int burst);

struct rte_lpm6 *shim_lpm6_create(const char *name, int socket_id,
				  uint32_t max_rules, uint32_t number_tbl8s);
int shim_lpm6_add(struct rte_lpm6 *lpm, const uint8_t *ip, uint8_t depth,
		  uint32_t next_hop);
int shim_lpm6_delete(struct rte_lpm6 *lpm, const uint8_t *ip, uint8_t depth);
void shim_lpm6_free(struct rte_lpm6 *lpm);
int shim_lpm6_lookup(const struct rte_lpm6 *lpm, const uint8_t *ip,
		     uint32_t *next_hop);
/* rte_lpm6_lookup on each of the n 16-byte addresses at ips. */
uint32_t shim_lpm6_loop_single(const struct rte_lpm6 *lpm, const uint8_t *ips,
			       unsigned int n);
/* rte_lpm6_lookup_bulk_func on bursts of `burst` (<= 64). */
uint32_t shim_lpm6_loop_bulk(const struct rte_lpm6 *lpm, const uint8_t *ips,
			     unsigned int n, unsigned int burst);

/* Bytes allocated on all of rte_malloc's heaps (rte_malloc statistics). */
uint64_t shim_malloc_allocated_bytes(void);

#endif

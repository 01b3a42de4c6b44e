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

#endif

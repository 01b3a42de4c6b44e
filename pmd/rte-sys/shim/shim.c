/* Out-of-line wrappers for DPDK's static-inline fast path: see shim.h. */
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ethdev.h>

#include "shim.h"

uint16_t shim_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
			   struct rte_mbuf **rx_pkts, uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t shim_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
			   struct rte_mbuf **tx_pkts, uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *shim_pktmbuf_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

int shim_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs,
			    unsigned int count)
{
	return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void shim_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

uint16_t shim_pktmbuf_data_room_size(struct rte_mempool *mp)
{
	return rte_pktmbuf_data_room_size(mp);
}

uint16_t shim_pktmbuf_priv_size(struct rte_mempool *mp)
{
	return rte_pktmbuf_priv_size(mp);
}

void shim_mempool_cache_flush(struct rte_mempool *mp)
{
	struct rte_mempool_cache *cache =
		rte_mempool_default_cache(mp, rte_lcore_id());

	if (cache != NULL)
		rte_mempool_cache_flush(cache, mp);
}

unsigned int shim_ring_enqueue_burst(struct rte_ring *r, void *const *objs,
				     unsigned int n, unsigned int *free_space)
{
	return rte_ring_enqueue_burst(r, objs, n, free_space);
}

unsigned int shim_ring_dequeue_burst(struct rte_ring *r, void **objs,
				     unsigned int n, unsigned int *available)
{
	return rte_ring_dequeue_burst(r, objs, n, available);
}

unsigned int shim_ring_count(const struct rte_ring *r)
{
	return rte_ring_count(r);
}

int shim_errno(void)
{
	return rte_errno;
}

unsigned int shim_lcore_id(void)
{
	return rte_lcore_id();
}

/* ---- rte_lpm / rte_lpm6 (FIB benchmark) -------------------------------- */

#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>

struct rte_lpm *shim_lpm_create(const char *name, int socket_id,
				uint32_t max_rules, uint32_t number_tbl8s)
{
	struct rte_lpm_config cfg = {
		.max_rules = max_rules,
		.number_tbl8s = number_tbl8s,
		.flags = 0,
	};
	return rte_lpm_create(name, socket_id, &cfg);
}

int shim_lpm_add(struct rte_lpm *lpm, uint32_t ip, uint8_t depth,
		 uint32_t next_hop)
{
	return rte_lpm_add(lpm, ip, depth, next_hop);
}

int shim_lpm_delete(struct rte_lpm *lpm, uint32_t ip, uint8_t depth)
{
	return rte_lpm_delete(lpm, ip, depth);
}

void shim_lpm_free(struct rte_lpm *lpm)
{
	rte_lpm_free(lpm);
}

int shim_lpm_lookup(const struct rte_lpm *lpm, uint32_t ip, uint32_t *next_hop)
{
	return rte_lpm_lookup(lpm, ip, next_hop);
}

void shim_lpm_lookup_bulk(const struct rte_lpm *lpm, const uint32_t *ips,
			  uint32_t *next_hops, unsigned int n)
{
	unsigned int i;

	rte_lpm_lookup_bulk(lpm, ips, next_hops, n);
	for (i = 0; i < n; i++)
		next_hops[i] = (next_hops[i] & RTE_LPM_LOOKUP_SUCCESS) ?
			(next_hops[i] & 0x00ffffff) : 0xffffffff;
}

void shim_lpm_lookupx4(const struct rte_lpm *lpm, const uint32_t ips[4],
		       uint32_t hops[4], uint32_t defv)
{
	xmm_t ip = _mm_loadu_si128((const __m128i *)ips);

	rte_lpm_lookupx4(lpm, ip, hops, defv);
}

uint32_t shim_lpm_loop_single(const struct rte_lpm *lpm, const uint32_t *ips,
			      unsigned int n)
{
	uint32_t sum = 0, nh;
	unsigned int i;

	for (i = 0; i < n; i++)
		sum += rte_lpm_lookup(lpm, ips[i], &nh) == 0 ? nh : 0xffffffff;
	return sum;
}

uint32_t shim_lpm_loop_bulk(const struct rte_lpm *lpm, const uint32_t *ips,
			    unsigned int n, unsigned int burst)
{
	uint32_t hops[64], sum = 0;
	unsigned int i, k;

	if (burst > 64)
		burst = 64;
	for (i = 0; i < n; i += k) {
		k = n - i < burst ? n - i : burst;
		rte_lpm_lookup_bulk(lpm, ips + i, hops, k);
		sum += (hops[0] & RTE_LPM_LOOKUP_SUCCESS) ?
			(hops[0] & 0x00ffffff) : 0xffffffff;
	}
	return sum;
}

struct rte_lpm6 *shim_lpm6_create(const char *name, int socket_id,
				  uint32_t max_rules, uint32_t number_tbl8s)
{
	struct rte_lpm6_config cfg = {
		.max_rules = max_rules,
		.number_tbl8s = number_tbl8s,
		.flags = 0,
	};
	return rte_lpm6_create(name, socket_id, &cfg);
}

int shim_lpm6_add(struct rte_lpm6 *lpm, const uint8_t *ip, uint8_t depth,
		  uint32_t next_hop)
{
	return rte_lpm6_add(lpm, ip, depth, next_hop);
}

int shim_lpm6_delete(struct rte_lpm6 *lpm, const uint8_t *ip, uint8_t depth)
{
	return rte_lpm6_delete(lpm, ip, depth);
}

void shim_lpm6_free(struct rte_lpm6 *lpm)
{
	rte_lpm6_free(lpm);
}

int shim_lpm6_lookup(const struct rte_lpm6 *lpm, const uint8_t *ip,
		     uint32_t *next_hop)
{
	return rte_lpm6_lookup(lpm, ip, next_hop);
}

uint32_t shim_lpm6_loop_single(const struct rte_lpm6 *lpm, const uint8_t *ips,
			       unsigned int n)
{
	uint32_t sum = 0, nh;
	unsigned int i;

	for (i = 0; i < n; i++)
		sum += rte_lpm6_lookup(lpm, ips + 16 * i, &nh) == 0 ?
			nh : 0xffffffff;
	return sum;
}

uint32_t shim_lpm6_loop_bulk(const struct rte_lpm6 *lpm, const uint8_t *ips,
			     unsigned int n, unsigned int burst)
{
	int32_t hops[64];
	uint32_t sum = 0;
	unsigned int i, k;

	if (burst > 64)
		burst = 64;
	for (i = 0; i < n; i += k) {
		k = n - i < burst ? n - i : burst;
		rte_lpm6_lookup_bulk_func(lpm,
			(uint8_t (*)[RTE_LPM6_IPV6_ADDR_SIZE])(ips + 16 * i),
			hops, k);
		sum += (uint32_t)hops[0];
	}
	return sum;
}

uint64_t shim_malloc_allocated_bytes(void)
{
	struct rte_malloc_socket_stats st;
	uint64_t total = 0;
	unsigned int s;

	for (s = 0; s < rte_socket_count(); s++) {
		int id = rte_socket_id_by_idx(s);

		if (id >= 0 && rte_malloc_get_socket_stats(id, &st) == 0)
			total += st.heap_allocsz_bytes;
	}
	return total;
}

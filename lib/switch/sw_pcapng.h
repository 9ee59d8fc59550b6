/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small pcapng file writer for the switch's packet capture.
 *
 * One file holds one section with one Ethernet interface (id 0) whose
 * name is ours to choose, so it can describe any port, ethdev or not
 * (rte_pcapng in DPDK 22.11 names interfaces by ethdev port id only).
 * Timestamps are in nanoseconds since the Unix epoch (if_tsresol 9).
 *
 * Blocks go through a stdio buffer; a writer is used by one thread at a
 * time. The first write error sticks: every later call returns it, so a
 * file never holds a block after a torn one.
 */
#ifndef SW_PCAPNG_H
#define SW_PCAPNG_H

#include <stdint.h>

struct rte_mbuf;

/* Direction of a captured packet (pcapng epb_flags inbound/outbound). */
enum sw_pcapng_dir { SW_PCAPNG_IN = 1, SW_PCAPNG_OUT = 2 };

struct sw_pcapng;

/*
 * Create/truncate path (mode 0600: captures hold guest traffic); write the
 * Section Header Block and one Interface Description Block
 * (LINKTYPE_ETHERNET, snaplen, if_name option = ifname, if_tsresol = 9
 * i.e. nanoseconds, shb_userappl option "vuswitchd") and flush them, so
 * the file is readable at once. snaplen 0 means no limit, as in pcapng.
 * ifname must be non-empty. NULL and errno set on failure.
 */
struct sw_pcapng *sw_pcapng_open(const char *path, const char *ifname,
				 uint32_t snaplen);

/*
 * One Enhanced Packet Block: interface 0, timestamp ts_ns (ns since the
 * Unix epoch), captured bytes = min(m->pkt_len, snaplen) taken from the
 * mbuf chain, original length = orig_len, epb_flags option with the
 * direction. 0 or -errno: -EINVAL (nothing written) for a bad direction,
 * segments holding fewer than the captured bytes or orig_len below the
 * captured length; -EMSGSIZE (nothing written) when the block would pass 4 GiB;
 * the errno of a failed write otherwise.
 */
int sw_pcapng_write(struct sw_pcapng *w, const struct rte_mbuf *m,
		    uint32_t orig_len, uint64_t ts_ns, enum sw_pcapng_dir dir);

/*
 * Write an Interface Statistics Block (isb_ifrecv = captured,
 * isb_ifdrop = dropped), flush, close, free. 0 or -errno (the object is
 * freed either way).
 */
int sw_pcapng_close(struct sw_pcapng *w, uint64_t captured,
		    uint64_t dropped);

#endif /* SW_PCAPNG_H */

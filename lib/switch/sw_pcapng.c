/* SPDX-License-Identifier: BSD-3-Clause */
/* The pcapng file writer of the switch's packet capture; see sw_pcapng.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "sw_pcapng.h"

/* Block types, options and constants of the pcapng specification. */
#define PCAPNG_BT_SHB		0x0A0D0D0Au
#define PCAPNG_BT_IDB		0x00000001u
#define PCAPNG_BT_ISB		0x00000005u
#define PCAPNG_BT_EPB		0x00000006u
#define PCAPNG_BOM		0x1A2B3C4Du
#define PCAPNG_LINKTYPE_ETHERNET	1
#define PCAPNG_OPT_ENDOFOPT	0
#define PCAPNG_OPT_SHB_USERAPPL	4
#define PCAPNG_OPT_IF_NAME	2
#define PCAPNG_OPT_IF_TSRESOL	9
#define PCAPNG_OPT_EPB_FLAGS	2
#define PCAPNG_OPT_ISB_IFRECV	4
#define PCAPNG_OPT_ISB_IFDROP	5

/* Bytes n takes once padded to 32 bits. */
#define PAD4(n)			(((n) + 3) & ~(size_t)3)
/* Bytes an option with an n-byte value takes. */
#define OPT_SIZE(n)		(4 + PAD4(n))
/* opt_endofopt and the trailing Block Total Length. */
#define BLOCK_TAIL		8

/* Largest captured length whose EPB length still fits in 32 bits. */
#define EPB_MAX_CAP		(UINT32_MAX - 64)

/* The stdio buffer: many packets per write(2). */
#define SW_PCAPNG_BUF_SIZE	(64 * 1024)

static const char sw_pcapng_appl[] = "vuswitchd";

struct sw_pcapng {
	FILE *f;
	uint32_t snaplen;	/* 0: no limit */
	int err;		/* first write error (an errno), sticky */
	char buf[SW_PCAPNG_BUF_SIZE];
};

struct shb_hdr {
	uint32_t type;
	uint32_t len;
	uint32_t bom;
	uint16_t major;
	uint16_t minor;
	int64_t section_len;
};

struct idb_hdr {
	uint32_t type;
	uint32_t len;
	uint16_t linktype;
	uint16_t reserved;
	uint32_t snaplen;
};

struct epb_hdr {
	uint32_t type;
	uint32_t len;
	uint32_t ifid;
	uint32_t ts_hi;
	uint32_t ts_lo;
	uint32_t caplen;
	uint32_t origlen;
};

struct isb_hdr {
	uint32_t type;
	uint32_t len;
	uint32_t ifid;
	uint32_t ts_hi;
	uint32_t ts_lo;
};

_Static_assert(sizeof(struct shb_hdr) == 24, "SHB header layout");
_Static_assert(sizeof(struct idb_hdr) == 16, "IDB header layout");
_Static_assert(sizeof(struct epb_hdr) == 28, "EPB header layout");
_Static_assert(sizeof(struct isb_hdr) == 20, "ISB header layout");

/* The errno of a stdio call that failed (which should have set it). */
static int
stdio_errno(void)
{
	return errno != 0 ? errno : EIO;
}

/* Append n bytes unless an earlier write failed; remember a failure. */
static void
put(struct sw_pcapng *w, const void *p, size_t n)
{
	if (w->err != 0 || n == 0)
		return;
	errno = 0;
	if (fwrite_unlocked(p, 1, n, w->f) != n)
		w->err = stdio_errno();
}

/* Zeros from n up to the next multiple of 4. */
static void
put_pad(struct sw_pcapng *w, size_t n)
{
	static const uint8_t zero[4];

	put(w, zero, PAD4(n) - n);
}

/* One option: code, length, value, padding. */
static void
put_opt(struct sw_pcapng *w, uint16_t code, const void *val, uint16_t len)
{
	const uint16_t h[2] = { code, len };

	put(w, h, sizeof(h));
	put(w, val, len);
	put_pad(w, len);
}

/* End a block: opt_endofopt and its total length; 0 or -errno. */
static int
put_end(struct sw_pcapng *w, uint32_t total)
{
	const uint32_t tail[2] = { PCAPNG_OPT_ENDOFOPT, total };

	RTE_BUILD_BUG_ON(sizeof(tail) != BLOCK_TAIL);
	put(w, tail, sizeof(tail));
	return -w->err;
}

static int
put_shb(struct sw_pcapng *w)
{
	const uint16_t appl_len = sizeof(sw_pcapng_appl) - 1;
	const struct shb_hdr h = {
		.type = PCAPNG_BT_SHB,
		.len = sizeof(h) + OPT_SIZE(appl_len) + BLOCK_TAIL,
		.bom = PCAPNG_BOM,
		.major = 1,
		.minor = 0,
		.section_len = -1,
	};

	put(w, &h, sizeof(h));
	put_opt(w, PCAPNG_OPT_SHB_USERAPPL, sw_pcapng_appl, appl_len);
	return put_end(w, h.len);
}

static int
put_idb(struct sw_pcapng *w, const char *ifname, uint16_t name_len)
{
	const uint8_t tsresol = 9;	/* 10^-9 s */
	const struct idb_hdr h = {
		.type = PCAPNG_BT_IDB,
		.len = sizeof(h) + OPT_SIZE(name_len) +
		       OPT_SIZE(sizeof(tsresol)) + BLOCK_TAIL,
		.linktype = PCAPNG_LINKTYPE_ETHERNET,
		.snaplen = w->snaplen,
	};

	put(w, &h, sizeof(h));
	put_opt(w, PCAPNG_OPT_IF_NAME, ifname, name_len);
	put_opt(w, PCAPNG_OPT_IF_TSRESOL, &tsresol, sizeof(tsresol));
	return put_end(w, h.len);
}

/* Open path for writing through our stdio buffer; NULL and errno. */
static FILE *
open_file(const char *path, char *buf)
{
	FILE *f;
	int fd, err;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (f == NULL) {
		err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	/* Before any I/O, with a buffer we supply: cannot fail in glibc. */
	setvbuf(f, buf, _IOFBF, SW_PCAPNG_BUF_SIZE);
	return f;
}

struct sw_pcapng *
sw_pcapng_open(const char *path, const char *ifname, uint32_t snaplen)
{
	struct sw_pcapng *w;
	size_t name_len;
	int err;

	name_len = ifname != NULL ? strlen(ifname) : 0;
	if (path == NULL || name_len == 0 || name_len > UINT16_MAX) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->snaplen = snaplen;
	w->f = open_file(path, w->buf);
	if (w->f == NULL) {
		err = errno;
		goto fail;
	}
	errno = 0;
	if (put_shb(w) == 0 && put_idb(w, ifname, (uint16_t)name_len) == 0 &&
	    fflush_unlocked(w->f) != 0)
		w->err = stdio_errno();
	err = w->err;
	if (err == 0)
		return w;
	fclose(w->f);
fail:
	free(w);
	errno = err;
	return NULL;
}

/* Whether the chain from m holds at least len bytes of data. */
static bool
chain_holds(const struct rte_mbuf *m, uint32_t len)
{
	for (; m != NULL && len > 0; m = m->next)
		len -= RTE_MIN(len, (uint32_t)m->data_len);
	return len == 0;
}

/* The first len bytes of the chain from m. */
static void
put_mbuf(struct sw_pcapng *w, const struct rte_mbuf *m, uint32_t len)
{
	uint32_t n;

	for (; m != NULL && len > 0; m = m->next) {
		n = RTE_MIN(len, (uint32_t)m->data_len);
		put(w, rte_pktmbuf_mtod(m, const void *), n);
		len -= n;
	}
}

int
sw_pcapng_write(struct sw_pcapng *w, const struct rte_mbuf *m,
		uint32_t orig_len, uint64_t ts_ns, enum sw_pcapng_dir dir)
{
	const uint32_t flags = dir;	/* bits 0-1: 01 inbound, 10 outbound */
	struct epb_hdr h = { .type = PCAPNG_BT_EPB };
	uint32_t cap;

	if (w == NULL || m == NULL ||
	    (dir != SW_PCAPNG_IN && dir != SW_PCAPNG_OUT))
		return -EINVAL;
	if (w->err != 0)
		return -w->err;
	cap = m->pkt_len;
	if (w->snaplen != 0 && cap > w->snaplen)
		cap = w->snaplen;
	if (orig_len < cap || !chain_holds(m, cap))
		return -EINVAL;
	if (cap > EPB_MAX_CAP)
		return -EMSGSIZE;
	h.len = sizeof(h) + PAD4(cap) + OPT_SIZE(sizeof(flags)) + BLOCK_TAIL;
	h.ts_hi = (uint32_t)(ts_ns >> 32);
	h.ts_lo = (uint32_t)ts_ns;
	h.caplen = cap;
	h.origlen = orig_len;
	put(w, &h, sizeof(h));
	put_mbuf(w, m, cap);
	put_pad(w, cap);
	put_opt(w, PCAPNG_OPT_EPB_FLAGS, &flags, sizeof(flags));
	return put_end(w, h.len);
}

static int
put_isb(struct sw_pcapng *w, uint64_t captured, uint64_t dropped)
{
	struct isb_hdr h = {
		.type = PCAPNG_BT_ISB,
		.len = sizeof(h) + 2 * OPT_SIZE(sizeof(uint64_t)) + BLOCK_TAIL,
	};
	struct timespec now = { 0 };
	uint64_t ts;

	clock_gettime(CLOCK_REALTIME, &now);
	ts = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	h.ts_hi = (uint32_t)(ts >> 32);
	h.ts_lo = (uint32_t)ts;
	put(w, &h, sizeof(h));
	put_opt(w, PCAPNG_OPT_ISB_IFRECV, &captured, sizeof(captured));
	put_opt(w, PCAPNG_OPT_ISB_IFDROP, &dropped, sizeof(dropped));
	return put_end(w, h.len);
}

int
sw_pcapng_close(struct sw_pcapng *w, uint64_t captured, uint64_t dropped)
{
	int err;

	if (w == NULL)
		return -EINVAL;
	put_isb(w, captured, dropped);
	/* fclose() flushes; after a failed write it may fail again. */
	errno = 0;
	if (fclose(w->f) != 0 && w->err == 0)
		w->err = stdio_errno();
	err = w->err;
	free(w);
	return -err;
}

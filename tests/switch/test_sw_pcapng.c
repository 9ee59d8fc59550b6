/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/switch's pcapng writer: files read back with libpcap byte for byte
 * (lengths, ns timestamps, single segments, chains, truncation), their
 * blocks walked raw (lengths, options, direction flags, statistics), and
 * the errors: bad arguments, paths, full devices, broken pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "sw_pcapng.h"
#include "swt_tmpdir.h"

#define SNAPLEN		1000
#define IFNAME		"vhu-test0"
#define NS		1000000000ull
#define MAX_SEGS	3
#define ISB_RECV	123456789012ull
#define ISB_DROP	4242ull

static struct rte_mempool *mp;
static char tmpdir[256];

/* What the capture file of write_capture() holds. */
struct pkt {
	uint32_t nb_segs;
	uint32_t seg_len[MAX_SEGS];
	uint32_t orig_extra;	/* orig_len = pkt_len + orig_extra */
	uint64_t ts;
	enum sw_pcapng_dir dir;
};

static const struct pkt pkts[] = {
	/* one segment */
	{ 1, { 60 }, 0, 1700000000123456789ull, SW_PCAPNG_IN },
	/* three segments of odd lengths: padding after each */
	{ 3, { 101, 1, 499 }, 0, 1700000000999999999ull, SW_PCAPNG_OUT },
	/* one segment longer than the snap length */
	{ 1, { 1514 }, 0, 1700000001000000000ull, SW_PCAPNG_IN },
	/* a chain truncated inside its second segment */
	{ 3, { 600, 601, 299 }, 0, 1700000001000000001ull, SW_PCAPNG_OUT },
	/* longer on the wire than in the mbuf; ts just past 2^32 ns */
	{ 1, { 63 }, 8937, 4294967297ull, SW_PCAPNG_IN },
	/* empty */
	{ 1, { 0 }, 0, 1, SW_PCAPNG_OUT },
	/* the largest captured size: exactly the snap length */
	{ 2, { 999, 1 }, 0, 1800000000000000000ull, SW_PCAPNG_IN },
};

#define NB_PKTS		(sizeof(pkts) / sizeof(pkts[0]))

static uint32_t
pkt_len(const struct pkt *p)
{
	uint32_t i, len = 0;

	for (i = 0; i < p->nb_segs; i++)
		len += p->seg_len[i];
	return len;
}

static uint32_t
cap_len(const struct pkt *p, uint32_t snaplen)
{
	uint32_t len = pkt_len(p);

	return snaplen != 0 && len > snaplen ? snaplen : len;
}

/* The bytes of packet seed: no two packets, no two offsets alike. */
static void
fill(uint8_t *buf, uint32_t len, uint32_t seed)
{
	uint32_t i, x = seed * 2246822519u + 0x9e3779b9u;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

/* An mbuf chain of p's segments holding fill(seed)'s bytes. */
static struct rte_mbuf *
make_mbuf(const struct pkt *p, uint32_t seed)
{
	static uint8_t data[4096];
	struct rte_mbuf *head = NULL, *m;
	uint32_t i, off = 0;
	char *dst;

	fill(data, pkt_len(p), seed);
	for (i = 0; i < p->nb_segs; i++) {
		m = rte_pktmbuf_alloc(mp);
		assert_non_null(m);
		dst = rte_pktmbuf_append(m, p->seg_len[i]);
		assert_true(dst != NULL || p->seg_len[i] == 0);
		memcpy(rte_pktmbuf_mtod(m, char *), data + off, p->seg_len[i]);
		off += p->seg_len[i];
		if (head == NULL)
			head = m;
		else
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
	}
	assert_int_equal(head->nb_segs, p->nb_segs);
	assert_int_equal(head->pkt_len, pkt_len(p));
	return head;
}

static void
path_in(char *path, size_t size, const char *name)
{
	assert_true((size_t)snprintf(path, size, "%s/%s", tmpdir, name) <
		    size);
}

/* Write pkts[] into path with snaplen, then close with ISB_RECV/DROP. */
static void
write_capture(const char *path, uint32_t snaplen)
{
	struct sw_pcapng *w;
	struct rte_mbuf *m;
	uint32_t i;

	w = sw_pcapng_open(path, IFNAME, snaplen);
	assert_non_null(w);
	for (i = 0; i < NB_PKTS; i++) {
		m = make_mbuf(&pkts[i], i);
		assert_int_equal(sw_pcapng_write(w, m,
			m->pkt_len + pkts[i].orig_extra, pkts[i].ts,
			pkts[i].dir), 0);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(sw_pcapng_close(w, ISB_RECV, ISB_DROP), 0);
}

/* Read path with libpcap at precision; it must hold pkts[]. */
static void
check_libpcap(const char *path, uint32_t snaplen, int precision)
{
	const uint64_t scale = precision == PCAP_TSTAMP_PRECISION_NANO ?
			       1 : 1000;
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint8_t want[4096];
	uint32_t i, cap;
	pcap_t *p;

	p = pcap_open_offline_with_tstamp_precision(path, precision, errbuf);
	if (p == NULL)
		fail_msg("pcap: %s", errbuf);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	assert_int_equal(pcap_get_tstamp_precision(p), precision);
	for (i = 0; i < NB_PKTS; i++) {
		assert_int_equal(pcap_next_ex(p, &h, &data), 1);
		cap = cap_len(&pkts[i], snaplen);
		assert_int_equal(h->caplen, cap);
		assert_int_equal(h->len, pkt_len(&pkts[i]) +
				 pkts[i].orig_extra);
		assert_int_equal(h->ts.tv_sec, pkts[i].ts / NS);
		assert_int_equal(h->ts.tv_usec, pkts[i].ts % NS / scale);
		fill(want, pkt_len(&pkts[i]), i);
		if (cap != 0)
			assert_memory_equal(data, want, cap);
	}
	assert_int_equal(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(p);
}

static uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * The options from p to end, which must end in opt_endofopt right at
 * end: the value of the one with code (NULL if none), its length in *len.
 */
static const uint8_t *
find_opt(const uint8_t *p, const uint8_t *end, uint16_t code, uint16_t *len)
{
	const uint8_t *val = NULL;
	uint16_t c, l = 0;

	for (;;) {
		assert_true(end - p >= 4);
		c = rd16(p);
		l = rd16(p + 2);
		p += 4;
		if (c == 0)
			break;
		assert_true(end - p >= ((l + 3) & ~3));
		if (c == code) {
			assert_null(val);	/* once */
			val = p;
			*len = l;
		}
		p += (l + 3) & ~3;
	}
	assert_int_equal(l, 0);
	assert_ptr_equal(p, end);
	return val;
}

/* The option's value must be the len bytes at want. */
static void
assert_opt(const uint8_t *opts, const uint8_t *end, uint16_t code,
	   const void *want, uint16_t len)
{
	const uint8_t *val;
	uint16_t l = 0;

	val = find_opt(opts, end, code, &l);
	assert_non_null(val);
	assert_int_equal(l, len);
	assert_memory_equal(val, want, len);
}

static uint8_t *
read_all(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	FILE *f;

	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	*size = (size_t)st.st_size;
	buf = malloc(*size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *size, f), *size);
	fclose(f);
	return buf;
}

static void
check_shb(const uint8_t *b, uint32_t len)
{
	assert_int_equal(rd32(b), 0x0A0D0D0A);
	assert_int_equal(rd32(b + 8), 0x1A2B3C4D);
	assert_int_equal(rd16(b + 12), 1);
	assert_int_equal(rd16(b + 14), 0);
	assert_int_equal((int64_t)rd64(b + 16), -1);
	assert_opt(b + 24, b + len - 4, 4, "vuswitchd", 9);
}

static void
check_idb(const uint8_t *b, uint32_t len, uint32_t snaplen)
{
	const uint8_t tsresol = 9;

	assert_int_equal(rd32(b), 1);
	assert_int_equal(rd16(b + 8), 1);	/* LINKTYPE_ETHERNET */
	assert_int_equal(rd16(b + 10), 0);
	assert_int_equal(rd32(b + 12), snaplen);
	assert_opt(b + 16, b + len - 4, 2, IFNAME, strlen(IFNAME));
	assert_opt(b + 16, b + len - 4, 9, &tsresol, 1);
}

static void
check_epb(const uint8_t *b, uint32_t len, uint32_t i, uint32_t snaplen)
{
	const struct pkt *p = &pkts[i];
	uint32_t cap = cap_len(p, snaplen), flags = p->dir;
	uint8_t want[4096];

	assert_int_equal(rd32(b), 6);
	assert_int_equal(rd32(b + 8), 0);	/* interface */
	assert_int_equal(rd32(b + 12), (uint32_t)(p->ts >> 32));
	assert_int_equal(rd32(b + 16), (uint32_t)p->ts);
	assert_int_equal(rd32(b + 20), cap);
	assert_int_equal(rd32(b + 24), pkt_len(p) + p->orig_extra);
	assert_true(len >= 28 + cap + 4);
	fill(want, pkt_len(p), i);
	if (cap != 0)
		assert_memory_equal(b + 28, want, cap);
	for (; cap % 4 != 0; cap++)
		assert_int_equal(b[28 + cap], 0);
	assert_opt(b + 28 + cap, b + len - 4, 2, &flags, 4);
}

/* ISB: interface 0, time between t0 and t1, our counters. */
static void
check_isb(const uint8_t *b, uint32_t len, uint64_t t0, uint64_t t1)
{
	const uint64_t recv = ISB_RECV, drop = ISB_DROP;
	uint64_t ts;

	assert_int_equal(rd32(b), 5);
	assert_int_equal(rd32(b + 8), 0);
	ts = (uint64_t)rd32(b + 12) << 32 | rd32(b + 16);
	assert_in_range(ts, t0, t1);
	assert_opt(b + 20, b + len - 4, 4, &recv, 8);
	assert_opt(b + 20, b + len - 4, 5, &drop, 8);
}

/* Walk path's blocks: SHB, IDB, one EPB per pkts[], ISB, end of file. */
static void
check_raw(const char *path, uint32_t snaplen, uint64_t t0, uint64_t t1)
{
	size_t size, off = 0;
	uint32_t i = 0, len;
	uint8_t *buf, *b;

	buf = read_all(path, &size);
	while (off < size) {
		b = buf + off;
		assert_true(size - off >= 12);
		len = rd32(b + 4);
		assert_int_equal(len % 4, 0);
		assert_in_range(len, 12, size - off);
		assert_int_equal(rd32(b + len - 4), len);
		if (i == 0)
			check_shb(b, len);
		else if (i == 1)
			check_idb(b, len, snaplen);
		else if (i < 2 + NB_PKTS)
			check_epb(b, len, i - 2, snaplen);
		else
			check_isb(b, len, t0, t1);
		off += len;
		i++;
	}
	assert_int_equal(off, size);
	assert_int_equal(i, 2 + NB_PKTS + 1);
	free(buf);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* A file over an older, longer one: truncated, 0600, and readable. */
static void
roundtrip(void **state)
{
	static uint8_t junk[100000];
	char path[512];
	struct stat st;
	uint64_t t0, t1;
	FILE *f;

	(void)state;
	path_in(path, sizeof(path), "roundtrip.pcapng");
	memset(junk, 0xa5, sizeof(junk));
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
	t0 = now_ns();
	write_capture(path, SNAPLEN);
	t1 = now_ns();
	check_libpcap(path, SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
	check_libpcap(path, SNAPLEN, PCAP_TSTAMP_PRECISION_MICRO);
	check_raw(path, SNAPLEN, t0, t1);
	/* A file we create is 0600; an existing one keeps its mode. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(unlink(path), 0);
	write_capture(path, SNAPLEN);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* pcap_open_offline (microseconds) reads it too, snap length included. */
static void
plain_open(void **state)
{
	char errbuf[PCAP_ERRBUF_SIZE], path[512];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p;

	(void)state;
	path_in(path, sizeof(path), "plain.pcapng");
	write_capture(path, SNAPLEN);
	p = pcap_open_offline(path, errbuf);
	if (p == NULL)
		fail_msg("pcap: %s", errbuf);
	assert_int_equal(pcap_snapshot(p), SNAPLEN);
	assert_int_equal(pcap_next_ex(p, &h, &data), 1);
	assert_int_equal(h->ts.tv_sec, pkts[0].ts / NS);
	assert_int_equal(h->ts.tv_usec, pkts[0].ts % NS / 1000);
	pcap_close(p);
}

/* Snap length 0: no limit. */
static void
no_snaplen(void **state)
{
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "nosnap.pcapng");
	write_capture(path, 0);
	check_libpcap(path, 0, PCAP_TSTAMP_PRECISION_NANO);
	check_raw(path, 0, 0, UINT64_MAX);
}

static void
open_errors(void **state)
{
	char path[512];

	(void)state;
	path_in(path, sizeof(path), "no/such/dir/x.pcapng");
	errno = 0;
	assert_null(sw_pcapng_open(path, IFNAME, SNAPLEN));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(sw_pcapng_open(tmpdir, IFNAME, SNAPLEN));
	assert_int_equal(errno, EISDIR);
	path_in(path, sizeof(path), "never.pcapng");
	errno = 0;
	assert_null(sw_pcapng_open(path, NULL, SNAPLEN));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(sw_pcapng_open(path, "", SNAPLEN));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(sw_pcapng_open(NULL, IFNAME, SNAPLEN));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(access(path, F_OK), -1);	/* nothing created */
	assert_int_equal(sw_pcapng_close(NULL, 0, 0), -EINVAL);
}

/* The header is flushed at open, so a full device fails there. */
static void
open_full(void **state)
{
	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	errno = 0;
	assert_null(sw_pcapng_open("/dev/full", IFNAME, SNAPLEN));
	assert_int_equal(errno, ENOSPC);
}

/* Refused packets write nothing; the file stays whole. */
static void
write_einval(void **state)
{
	char errbuf[PCAP_ERRBUF_SIZE], path[512];
	struct sw_pcapng *w;
	struct pcap_pkthdr *h;
	const u_char *data;
	struct rte_mbuf *m;
	pcap_t *p;

	(void)state;
	path_in(path, sizeof(path), "einval.pcapng");
	w = sw_pcapng_open(path, IFNAME, SNAPLEN);
	assert_non_null(w);
	m = make_mbuf(&pkts[3], 3);	/* 1500 bytes, 1000 captured */
	assert_int_equal(sw_pcapng_write(w, m, 1500, 1, 0), -EINVAL);
	assert_int_equal(sw_pcapng_write(w, m, 1500, 1, 3), -EINVAL);
	assert_int_equal(sw_pcapng_write(w, NULL, 1500, 1, 1), -EINVAL);
	assert_int_equal(sw_pcapng_write(NULL, m, 1500, 1, 1), -EINVAL);
	assert_int_equal(sw_pcapng_write(w, m, 999, 1, 1), -EINVAL);
	/*
	 * A chain shorter than its pkt_len says: fine while it holds the
	 * captured bytes (1600 or 1301 bytes long, 1000 captured), refused
	 * once it does not (900).
	 */
	m->pkt_len = 1600;
	assert_int_equal(sw_pcapng_write(w, m, 1600, 1, 1), 0);
	m->pkt_len = 1500;
	m->next->next->data_len = 100;
	assert_int_equal(sw_pcapng_write(w, m, 1500, 1, 1), 0);
	m->next->data_len = 200;
	assert_int_equal(sw_pcapng_write(w, m, 1500, 1, 1), -EINVAL);
	m->next->data_len = 601;
	m->next->next->data_len = 299;
	assert_int_equal(sw_pcapng_write(w, m, 1000, 7, 2), 0);
	rte_pktmbuf_free(m);
	assert_int_equal(sw_pcapng_close(w, 3, 0), 0);

	p = pcap_open_offline(path, errbuf);
	if (p == NULL)
		fail_msg("pcap: %s", errbuf);
	assert_int_equal(pcap_next_ex(p, &h, &data), 1);
	assert_int_equal(h->len, 1600);
	assert_int_equal(pcap_next_ex(p, &h, &data), 1);
	assert_int_equal(h->len, 1500);
	assert_int_equal(pcap_next_ex(p, &h, &data), 1);
	assert_int_equal(h->caplen, 1000);
	assert_int_equal(h->len, 1000);
	assert_int_equal(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(p);
}

/* A writer on a pipe; its reader is closed once the header is in. */
static struct sw_pcapng *
open_broken_pipe(int *wfd, uint32_t snaplen)
{
	struct sw_pcapng *w;
	char path[64];
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[1]);
	w = sw_pcapng_open(path, IFNAME, snaplen);
	assert_non_null(w);
	assert_int_equal(close(fds[0]), 0);
	*wfd = fds[1];
	return w;
}

/* Writes are buffered; the first failure is returned and sticks. */
static void
write_error(void **state)
{
	struct sw_pcapng *w;
	struct rte_mbuf *m;
	int fd, i, rc = 0;

	(void)state;
	w = open_broken_pipe(&fd, SNAPLEN);
	m = make_mbuf(&pkts[2], 2);	/* 1514 bytes, 1000 captured */
	for (i = 0; i < 1000; i++) {
		rc = sw_pcapng_write(w, m, 1514, (uint64_t)i, SW_PCAPNG_IN);
		if (rc != 0)
			break;
	}
	assert_int_equal(rc, -EPIPE);
	/* 64 KiB of buffer: some 60 packets before the first write(2). */
	assert_in_range(i, 32, 80);
	assert_int_equal(sw_pcapng_write(w, m, 1514, 0, SW_PCAPNG_IN), -EPIPE);
	rte_pktmbuf_free(m);
	assert_int_equal(sw_pcapng_close(w, 0, 0), -EPIPE);
	assert_int_equal(close(fd), 0);
}

/* A packet in the buffer and the ISB fail at close's flush. */
static void
close_error(void **state)
{
	struct sw_pcapng *w;
	struct rte_mbuf *m;
	int fd;

	(void)state;
	w = open_broken_pipe(&fd, SNAPLEN);
	m = make_mbuf(&pkts[0], 0);
	assert_int_equal(sw_pcapng_write(w, m, 60, 1, SW_PCAPNG_OUT), 0);
	rte_pktmbuf_free(m);
	assert_int_equal(sw_pcapng_close(w, 1, 0), -EPIPE);
	assert_int_equal(close(fd), 0);
}

/* A packet larger than the buffer fails in the call that writes it. */
static void
big_write_error(void **state)
{
	struct rte_mbuf *m, *seg;
	struct sw_pcapng *w;
	int fd, i;

	(void)state;
	w = open_broken_pipe(&fd, 0);
	m = rte_pktmbuf_alloc(mp);
	assert_non_null(m);
	for (i = 0; i < 40; i++) {	/* 40 * 2000 bytes > 64 KiB */
		seg = i == 0 ? m : rte_pktmbuf_alloc(mp);
		assert_non_null(seg);
		assert_non_null(rte_pktmbuf_append(seg, 2000));
		if (i != 0)
			assert_int_equal(rte_pktmbuf_chain(m, seg), 0);
	}
	assert_int_equal(m->pkt_len, 80000);
	assert_int_equal(sw_pcapng_write(w, m, 80000, 1, SW_PCAPNG_IN),
			 -EPIPE);
	rte_pktmbuf_free(m);
	assert_int_equal(sw_pcapng_close(w, 0, 0), -EPIPE);
	assert_int_equal(close(fd), 0);
}

/*
 * A write fails (over the file size limit), then would succeed again
 * (limit lifted): the writer adds nothing after the torn block.
 */
static void
error_sticks(void **state)
{
	void (*old_handler)(int);
	struct rlimit old, lim;
	struct sw_pcapng *w;
	struct rte_mbuf *m;
	char path[512];
	struct stat st;
	int i, rc = 0;

	(void)state;
	path_in(path, sizeof(path), "fsize.pcapng");
	w = sw_pcapng_open(path, IFNAME, SNAPLEN);
	assert_non_null(w);
	m = make_mbuf(&pkts[2], 2);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 8192;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (i = 0; i < 1000 && rc == 0; i++)
		rc = sw_pcapng_write(w, m, 1514, 1, SW_PCAPNG_IN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	assert_int_equal(rc, -EFBIG);
	assert_int_equal(sw_pcapng_write(w, m, 1514, 2, SW_PCAPNG_IN), -EFBIG);
	rte_pktmbuf_free(m);
	assert_int_equal(sw_pcapng_close(w, 0, 0), -EFBIG);
	/* The limit's worth (stdio drops what it failed to write), no ISB. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 8192);
}

/* EAL without hugepages or devices, a pool, a directory for files. */
static int
setup(void **state)
{
	char prefix[64];
	char *argv[] = { "test_sw_pcapng", "-l", "0", "--no-huge", "-m", "64",
			 "--no-pci", "--no-shconf", "--log-level", "*:error",
			 "--file-prefix", prefix, NULL };

	(void)state;
	snprintf(prefix, sizeof(prefix), "swpcapng%d", (int)getpid());
	if (rte_eal_init(12, argv) < 0)
		return -1;
	mp = rte_pktmbuf_pool_create("pcapng", 255, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (mp == NULL ||
	    swt_tmpdir_make(tmpdir, sizeof(tmpdir), "sw_pcapng") < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	swt_tmpdir_remove(tmpdir, false);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(plain_open),
		cmocka_unit_test(no_snaplen),
		cmocka_unit_test(open_errors),
		cmocka_unit_test(open_full),
		cmocka_unit_test(write_einval),
		cmocka_unit_test(write_error),
		cmocka_unit_test(close_error),
		cmocka_unit_test(big_write_error),
		cmocka_unit_test(error_sticks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

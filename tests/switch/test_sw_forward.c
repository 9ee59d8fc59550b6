/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/switch's forwarding path end to end: net_pcap ethdev ports (each
 * replays its input pcap file once and writes what it transmits to an
 * output one), a worker polling them on lcore 1, and the output files
 * read back with libpcap and compared byte for byte. Flooding, learning,
 * VLANs, MTU, counters, capture; then the checksum offloads the worker
 * finishes for ports that cannot, fed through the control thread's
 * inject ring.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sw_internal.h"
#include "swt_tmpdir.h"

#define WORKER_LCORE	1
#define MAXP		7	/* ports per case */
#define MAXF		16	/* frames per file */
#define FRAME_MAX	1600
#define WAIT_NS		5000000000ull
#define ETHERTYPE	0x88b5	/* local experimental */

struct pkt {
	uint32_t len;
	uint8_t b[FRAME_MAX];
};

struct fx {
	struct sw *sw;
	bool running;
	unsigned int n;
	struct sw_port *p[MAXP];
	unsigned int nin[MAXP];		/* frames in the port's input */
	char out[MAXP][512];
	struct sw_port_stats st[MAXP];	/* at fx_stop() */
	uint64_t cap_packets[MAXP], cap_dropped[MAXP];	/* at stop */
};

static char tmpdir[256];
static unsigned int vdev_seq;
static const unsigned int lcores[] = { WORKER_LCORE };

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01 };
static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t mac_c[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0c };
static const uint8_t mac_d[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0d };
static const uint8_t mac_t[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x1f };
static const uint8_t mac_x[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };

/* Frames. */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * An Ethernet frame of len bytes from src to dst, tagged with tci unless
 * tci < 0, its payload a pattern of seed.
 */
static void
frame(struct pkt *p, const uint8_t dst[6], const uint8_t src[6], int tci,
      uint32_t len, uint8_t seed)
{
	uint32_t off = 12, i;

	assert_true(len <= FRAME_MAX);
	memset(p, 0, sizeof(*p));
	memcpy(p->b, dst, 6);
	memcpy(p->b + 6, src, 6);
	if (tci >= 0) {
		put16(p->b + off, 0x8100);
		put16(p->b + off + 2, (uint16_t)tci);
		off += 4;
	}
	if (len >= off + 2)
		put16(p->b + off, ETHERTYPE);
	for (i = off + 2; i < len; i++)
		p->b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
	if (len >= 13)
		p->b[len - 1] = seed;	/* never two frames alike */
	p->len = len;
}

/* in with an 802.1Q header of tci inserted after the addresses. */
static void
tagged(struct pkt *out, const struct pkt *in, uint16_t tci)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->b, in->b, 12);
	put16(out->b + 12, 0x8100);
	put16(out->b + 14, tci);
	memcpy(out->b + 16, in->b + 12, in->len - 12);
	out->len = in->len + 4;
}

/* in without its 802.1Q header. */
static void
untagged(struct pkt *out, const struct pkt *in)
{
	assert_int_equal(in->b[12], 0x81);
	assert_int_equal(in->b[13], 0x00);
	memset(out, 0, sizeof(*out));
	memcpy(out->b, in->b, 12);
	memcpy(out->b + 12, in->b + 16, in->len - 16);
	out->len = in->len - 4;
}

/* pcap files. */

/* tmpdir/<kind><n>.<ext> */
static void
path_in(char *path, size_t size, const char *kind, unsigned int n,
	const char *ext)
{
	assert_true((size_t)snprintf(path, size, "%s/%s%u.%s", tmpdir, kind,
				     n, ext) < size);
}

static void
write_pcap(const char *path, const struct pkt *const *f, unsigned int n)
{
	pcap_dumper_t *d;
	pcap_t *p;
	unsigned int i;

	p = pcap_open_dead(DLT_EN10MB, 65535);
	assert_non_null(p);
	d = pcap_dump_open(p, path);
	if (d == NULL)
		fail_msg("pcap_dump_open %s: %s", path, pcap_geterr(p));
	for (i = 0; i < n; i++) {
		struct pcap_pkthdr h = {
			.ts = { .tv_sec = 1700000000 + i, .tv_usec = 0 },
			.caplen = f[i]->len,
			.len = f[i]->len,
		};

		pcap_dump((u_char *)d, &h, f[i]->b);
	}
	pcap_dump_close(d);
	pcap_close(p);
}

/*
 * Read a pcap or pcapng file: its frames into got (at most max), the
 * length on the wire of each into wire (if not NULL). Returns how many.
 */
static unsigned int
read_pcap(const char *path, struct pkt *got, uint32_t *wire, unsigned int max)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	unsigned int n = 0;
	pcap_t *p;
	int rc;

	p = pcap_open_offline(path, errbuf);
	if (p == NULL)
		fail_msg("pcap %s: %s", path, errbuf);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (n == max)
			fail_msg("%s: more than %u frames", path, max);
		assert_true(h->caplen <= FRAME_MAX);
		memset(&got[n], 0, sizeof(got[n]));
		memcpy(got[n].b, data, h->caplen);
		got[n].len = h->caplen;
		if (wire != NULL)
			wire[n] = h->len;
		n++;
	}
	assert_int_equal(rc, PCAP_ERROR_BREAK);
	pcap_close(p);
	return n;
}

static void
dump(const char *what, const struct pkt *p)
{
	uint32_t i;

	fprintf(stderr, "# %s: %u bytes:", what, p->len);
	for (i = 0; i < p->len && i < 24; i++)
		fprintf(stderr, " %02x", p->b[i]);
	fprintf(stderr, "%s\n", p->len > 24 ? " ..." : "");
}

/* Where a frame of the wanted length differs from the wanted one. */
static void
differ(const struct pkt *got, const struct pkt *want)
{
	uint32_t i, n = 0;

	if (got->len != want->len)
		return;
	fprintf(stderr, "# differs at");
	for (i = 0; i < got->len && n < 8; i++)
		if (got->b[i] != want->b[i]) {
			fprintf(stderr, " [%u] %02x (not %02x)", i, got->b[i],
				want->b[i]);
			n++;
		}
	fprintf(stderr, "\n");
}

/*
 * got[0..ngot) must be want[0..n), byte for byte, in any order (frames
 * from different input ports may interleave): each wanted frame matched
 * by exactly one frame got.
 */
static void
same_frames(const char *what, const struct pkt *got, unsigned int ngot,
	    const struct pkt *const *want, unsigned int n)
{
	bool used[MAXF * MAXP] = { false };
	unsigned int i, j;

	assert_true(ngot <= MAXF * MAXP);
	if (ngot != n) {
		for (i = 0; i < ngot; i++)
			dump("got", &got[i]);
		fail_msg("%s: %u frames, %u wanted", what, ngot, n);
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < ngot; j++)
			if (!used[j] && got[j].len == want[i]->len &&
			    memcmp(got[j].b, want[i]->b, want[i]->len) == 0)
				break;
		if (j == ngot) {
			dump("wanted", want[i]);
			for (j = 0; j < ngot; j++)
				dump("got", &got[j]);
			for (j = 0; j < ngot; j++)
				differ(&got[j], want[i]);
			fail_msg("%s: wanted frame %u not there", what, i);
		}
		used[j] = true;
	}
}

/* The port's output file must hold want[0..n), nothing else. */
static void
expect_out(struct fx *f, unsigned int port, const struct pkt *const *want,
	   unsigned int n)
{
	static struct pkt got[MAXF * MAXP];
	char what[32];
	unsigned int ngot;

	assert_true(port < f->n);
	assert_null(f->p[port]);	/* closed: the file is complete */
	ngot = read_pcap(f->out[port], got, NULL, MAXF * MAXP);
	snprintf(what, sizeof(what), "port %u sent", port);
	same_frames(what, got, ngot, want, n);
}

/* The switch. */

static int
watch(void *ctx, int fd, uint32_t events, sw_event_fn fn, void *arg)
{
	(void)ctx;
	(void)fd;
	(void)events;
	(void)fn;
	(void)arg;
	return 0;
}

static int
fx_setup(void **state)
{
	struct sw_params params = {
		.nworkers = 1,
		.worker_lcores = lcores,
		.mbufs = 4095,
		.mac_entries = 1024,
		.loop = { .watch = watch },
	};
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->sw = sw_create(&params);
	if (f->sw == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static void
fx_stop(struct fx *f)
{
	unsigned int i;

	if (f->running) {
		sw_stop_workers(f->sw);
		assert_int_equal(rte_eal_wait_lcore(WORKER_LCORE), 0);
		f->running = false;
	}
	for (i = 0; i < f->n; i++)
		if (f->p[i] != NULL)
			sw_port_stats(f->sw, f->p[i], &f->st[i]);
}

/* Stop the worker, then close every port (the pcap PMD's files too). */
static void
fx_close(struct fx *f)
{
	unsigned int i;

	fx_stop(f);
	for (i = 0; i < f->n; i++)
		if (f->p[i] != NULL) {
			assert_int_equal(sw_port_del(f->sw, f->p[i]), 0);
			f->p[i] = NULL;
		}
	assert_int_equal(sw_port_count(f->sw), 0);
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f->running) {
		sw_stop_workers(f->sw);
		rte_eal_wait_lcore(WORKER_LCORE);
	}
	sw_destroy(f->sw);	/* removes what is left */
	free(f);
	return 0;
}

/*
 * A net_pcap port replaying in[0..n) (an empty file if n == 0). Returns
 * its number in the case, which is also its index in the switch.
 */
static unsigned int
fx_port(struct fx *f, const struct sw_vlan *vlan, uint16_t mtu,
	const struct pkt *const *in, unsigned int n)
{
	char name[16], inpath[512], devargs[1200], err[256] = "";
	struct sw_port_conf c = {
		.name = name,
		.type = SW_PORT_ETHDEV,
		.devargs = devargs,
		.mtu = mtu,
	};
	unsigned int i = f->n, vdev = vdev_seq++;
	int rc;

	assert_true(i < MAXP);
	if (vlan != NULL)
		c.vlan = *vlan;
	snprintf(name, sizeof(name), "p%u", i);
	path_in(inpath, sizeof(inpath), "in", vdev, "pcap");
	path_in(f->out[i], sizeof(f->out[i]), "out", vdev, "pcap");
	write_pcap(inpath, in, n);
	snprintf(devargs, sizeof(devargs), "net_pcap%u,rx_pcap=%s,tx_pcap=%s",
		 vdev, inpath, f->out[i]);
	rc = sw_port_add(f->sw, &c, err, sizeof(err));
	if (rc < 0)
		fail_msg("sw_port_add %s: %s (%d)", devargs, err, rc);
	assert_int_equal(rc, i);
	f->p[i] = sw_port_find(f->sw, name);
	assert_non_null(f->p[i]);
	assert_int_equal(sw_port_index(f->p[i]), i);
	assert_int_equal(sw_port_type(f->p[i]), SW_PORT_ETHDEV);
	f->nin[i] = n;
	f->n++;
	return i;
}

static void
fx_run(struct fx *f)
{
	assert_false(f->running);
	assert_int_equal(rte_eal_remote_launch(sw_worker_main,
		sw_worker_arg(f->sw, 0), WORKER_LCORE), 0);
	f->running = true;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Wait until every port has taken in its whole file. The worker counts a
 * burst received only once it has switched and sent it.
 */
static void
fx_wait(struct fx *f)
{
	uint64_t deadline = now_ns() + WAIT_NS;
	struct sw_port_stats st;
	unsigned int i;

	for (i = 0; i < f->n; i++) {
		if (f->p[i] == NULL)
			continue;
		for (;;) {
			sw_port_stats(f->sw, f->p[i], &st);
			if (st.rx_packets >= f->nin[i])
				break;
			if (now_ns() > deadline)
				fail_msg("port %u received %" PRIu64 " of %u",
					 i, st.rx_packets, f->nin[i]);
			usleep(1000);
		}
		assert_int_equal(st.rx_packets, f->nin[i]);
	}
	usleep(20000);	/* nothing more may come: let it show */
}

/* Every drop counter of the port is 0 but the one named (if any). */
static void
only_drop(const struct fx *f, unsigned int port, int reason, uint64_t n)
{
	unsigned int d;

	for (d = 0; d < SW_DROP_MAX; d++) {
		uint64_t want = (int)d == reason ? n : 0;

		if (f->st[port].drops[d] != want)
			fail_msg("port %u: %" PRIu64 " %s drops, %" PRIu64
				 " wanted", port, f->st[port].drops[d],
				 sw_drop_name(d), want);
	}
}

static void
no_drops(const struct fx *f)
{
	unsigned int i;

	for (i = 0; i < f->n; i++)
		only_drop(f, i, -1, 0);
}

static struct sw_vlan
vl_access(uint16_t tag)
{
	struct sw_vlan v = { .mode = SW_VLAN_ACCESS, .tag = tag };

	return v;
}

static struct sw_vlan
vl_trunk(uint16_t native, uint16_t allow)
{
	struct sw_vlan v = { .mode = SW_VLAN_TRUNK, .native = native,
			     .listed = true };

	v.allowed[allow / 64] |= 1ull << (allow % 64);
	return v;
}

/* The cases. */

/*
 * Broadcast, multicast and unknown unicast from port 0 go out of every
 * other port, as they came, and never back out of port 0.
 */
static void
flooding(void **state)
{
	struct fx *f = *state;
	static struct pkt b, m, u;
	const struct pkt *in[] = { &b, &m, &u };

	frame(&b, bcast, mac_a, -1, 60, 1);
	frame(&m, mcast, mac_a, -1, 100, 2);
	frame(&u, mac_x, mac_a, -1, 1514, 3);
	/* all ports are there before the worker starts replaying */
	fx_port(f, NULL, 0, in, 3);
	fx_port(f, NULL, 0, NULL, 0);
	fx_port(f, NULL, 0, NULL, 0);
	fx_run(f);
	fx_wait(f);
	/* the source was learned, the unknown destination not */
	assert_int_equal(sw_mac_lookup(f->sw, mac_a, 0), 0);
	assert_int_equal(sw_mac_lookup(f->sw, mac_x, 0), -ENOENT);
	fx_close(f);
	expect_out(f, 0, NULL, 0);
	expect_out(f, 1, in, 3);
	expect_out(f, 2, in, 3);
	no_drops(f);
}

/*
 * Port 1 has sent from B, so a frame from port 0 to B goes out of port 1
 * only; port 0's own source is learned in turn. Ports come one by one
 * while the worker runs, each replaying when it is added.
 */
static void
learning(void **state)
{
	struct fx *f = *state;
	static struct pkt b_bc, b2_b, a_b, a_x, c_a;
	const struct pkt *in1[] = { &b_bc, &b2_b }, *in2[] = { &a_b, &a_x };
	const struct pkt *in3[] = { &c_a };
	const struct pkt *out0[] = { &b_bc, &a_x };
	const struct pkt *out1[] = { &a_b, &a_x }, *out2[] = { &c_a };

	frame(&b_bc, bcast, mac_b, -1, 64, 1);
	/* from another station behind port 1 to B: stays there */
	frame(&b2_b, mac_b, mac_d, -1, 70, 2);
	frame(&a_b, mac_b, mac_a, -1, 80, 3);
	frame(&a_x, mac_x, mac_a, -1, 90, 4);
	frame(&c_a, mac_a, mac_c, -1, 100, 5);
	fx_run(f);
	fx_port(f, NULL, 0, NULL, 0);		/* 0: an observer */
	fx_port(f, NULL, 0, in1, 2);		/* 1: B and D */
	fx_wait(f);
	assert_int_equal(sw_mac_lookup(f->sw, mac_b, 0), 1);
	assert_int_equal(sw_mac_lookup(f->sw, mac_d, 0), 1);
	fx_port(f, NULL, 0, in2, 2);		/* 2: A, to B and to X */
	fx_wait(f);
	assert_int_equal(sw_mac_lookup(f->sw, mac_a, 0), 2);
	fx_port(f, NULL, 0, in3, 1);		/* 3: C, to A */
	fx_wait(f);
	fx_close(f);
	expect_out(f, 0, out0, 2);
	expect_out(f, 1, out1, 2);
	expect_out(f, 2, out2, 1);
	expect_out(f, 3, NULL, 0);	/* added after B's broadcast */
	only_drop(f, 0, -1, 0);
	only_drop(f, 1, SW_DROP_SAME_PORT, 1);
	only_drop(f, 2, -1, 0);
	only_drop(f, 3, -1, 0);
	/* the ports are gone and their stations with them */
	assert_int_equal(sw_mac_lookup(f->sw, mac_a, 0), -ENOENT);
	assert_int_equal(sw_mac_lookup(f->sw, mac_b, 0), -ENOENT);
	assert_int_equal(sw_mac_lookup(f->sw, mac_c, 0), -ENOENT);
}

/*
 * Ports 0 and 1 are access ports of VLAN 10, port 2 of VLAN 20, port 3 a
 * trunk of VLAN 10 with native VLAN 0.
 */
static void
vlans(void **state)
{
	struct fx *f = *state;
	struct sw_vlan a10 = vl_access(10), a20 = vl_access(20);
	struct sw_vlan t10 = vl_trunk(0, 10);
	static struct pkt u10, u10_t, t10_in, t10_out, t30, tagged_in20;
	static struct pkt native, tagged_in10, prio;
	const struct pkt *in0[] = { &u10, &tagged_in10 };
	const struct pkt *in2[] = { &tagged_in20 };
	const struct pkt *in3[] = { &t10_in, &t30, &native, &prio };
	const struct pkt *out0[] = { &t10_out };
	const struct pkt *out1[] = { &u10, &t10_out };
	const struct pkt *out3[] = { &u10_t };

	/* untagged on VLAN 10's access port: tagged 10 on the trunk */
	frame(&u10, bcast, mac_a, -1, 60, 1);
	tagged(&u10_t, &u10, 10);
	/* VLAN 10 from the trunk, priority 3: untagged on 0 and 1 */
	frame(&t10_in, bcast, mac_t, 3 << 13 | 10, 64, 2);
	untagged(&t10_out, &t10_in);
	/* VLAN 30 is not the trunk's */
	frame(&t30, bcast, mac_t, 30, 64, 3);
	/* untagged on the trunk is VLAN 0: no other port has it */
	frame(&native, bcast, mac_t, -1, 64, 4);
	/* priority-tagged (VID 0) frames are not switched */
	frame(&prio, bcast, mac_t, 5 << 13, 64, 5);
	/* tagged frames on access ports, even with their own VLAN */
	frame(&tagged_in20, bcast, mac_c, 20, 64, 6);
	frame(&tagged_in10, bcast, mac_a, 10, 64, 7);
	fx_port(f, &a10, 0, in0, 2);
	fx_port(f, &a10, 0, NULL, 0);
	fx_port(f, &a20, 0, in2, 1);
	fx_port(f, &t10, 0, in3, 4);
	assert_int_equal(sw_port_vlan(f->p[3])->mode, SW_VLAN_TRUNK);
	fx_run(f);
	fx_wait(f);
	fx_close(f);
	/* the 802.1Q header on the trunk, byte by byte */
	assert_int_equal(u10_t.b[12], 0x81);
	assert_int_equal(u10_t.b[13], 0x00);
	assert_int_equal(u10_t.b[14], 0x00);
	assert_int_equal(u10_t.b[15], 10);
	assert_int_equal(u10_t.b[16], ETHERTYPE >> 8);
	expect_out(f, 0, out0, 1);
	expect_out(f, 1, out1, 2);
	expect_out(f, 2, NULL, 0);
	expect_out(f, 3, out3, 1);
	only_drop(f, 0, SW_DROP_VLAN, 1);
	only_drop(f, 1, -1, 0);
	only_drop(f, 2, SW_DROP_VLAN, 1);
	only_drop(f, 3, SW_DROP_VLAN, 2);	/* VLAN 30, VID 0 */
	assert_int_equal(f->st[3].tx_bytes, u10.len + 4);
	assert_int_equal(f->st[0].tx_bytes, t10_in.len - 4);
}

/*
 * Port 1's MTU is 1000, so is port 3's, a trunk: a frame of 1000 bytes
 * after its Ethernet header (and tag) leaves, one of 1001 is dropped
 * there, counted on that output port, and still leaves port 2.
 */
static void
mtu(void **state)
{
	struct fx *f = *state;
	struct sw_vlan a10 = vl_access(10);
	struct sw_vlan all = { .mode = SW_VLAN_TRUNK };
	static struct pkt fit, big, fit_t;
	const struct pkt *in[] = { &fit, &big };
	const struct pkt *out1[] = { &fit }, *out3[] = { &fit_t };

	frame(&fit, bcast, mac_a, -1, 1014, 1);
	frame(&big, bcast, mac_a, -1, 1015, 2);
	tagged(&fit_t, &fit, 10);
	fx_port(f, &a10, 0, in, 2);
	fx_port(f, &a10, 1000, NULL, 0);
	fx_port(f, &a10, 0, NULL, 0);
	fx_port(f, &all, 1000, NULL, 0);
	assert_int_equal(sw_port_mtu(f->p[0]), 1500);
	assert_int_equal(sw_port_mtu(f->p[1]), 1000);
	fx_run(f);
	fx_wait(f);
	fx_close(f);
	expect_out(f, 0, NULL, 0);
	expect_out(f, 1, out1, 1);
	expect_out(f, 2, in, 2);
	expect_out(f, 3, out3, 1);
	only_drop(f, 0, -1, 0);
	only_drop(f, 1, SW_DROP_MTU, 1);
	only_drop(f, 2, -1, 0);
	only_drop(f, 3, SW_DROP_MTU, 1);
}

/*
 * One run of frames from port 0 (a trunk, native VLAN 10) to the same
 * known station, B behind port 1 (access VLAN 10, MTU 1000), then C
 * behind port 2 (a trunk of VLAN 10, MTU 1000): frames that leave as
 * they came, frames whose tag comes off or goes on, and frames too big
 * after their Ethernet header (and tag), which are dropped and counted
 * on their output port while the rest of the run still leaves, in
 * order. Port 3 sees none of it.
 */
static void
unicast_runs(void **state)
{
	struct fx *f = *state;
	struct sw_vlan n10 = vl_trunk(10, 10), t10 = vl_trunk(0, 10);
	struct sw_vlan a10 = vl_access(10);
	static struct pkt b1, b2, b3, b4, b5, b6, c1, c2, c3;
	static struct pkt b2_u, b5_u, c1_t;
	const struct pkt *in0[] = { &b1, &b2, &b3, &b4, &b5, &b6,
				    &c1, &c2, &c3 };
	const struct pkt *out1[] = { &b1, &b2_u, &b4, &b5_u, &b6 };
	const struct pkt *out2[] = { &c1_t, &c2 };

	frame(&b1, mac_b, mac_a, -1, 100, 1);
	frame(&b2, mac_b, mac_a, 10, 200, 2);	/* its tag comes off */
	untagged(&b2_u, &b2);
	frame(&b3, mac_b, mac_a, -1, 1015, 3);	/* 1001 bytes: too big */
	frame(&b4, mac_b, mac_a, -1, 1014, 4);
	frame(&b5, mac_b, mac_a, 10, 1018, 5);	/* 1000 once untagged */
	untagged(&b5_u, &b5);
	frame(&b6, mac_b, mac_a, -1, 300, 6);
	frame(&c1, mac_c, mac_a, -1, 1014, 7);	/* a tag goes on */
	tagged(&c1_t, &c1, 10);
	frame(&c2, mac_c, mac_a, 10, 1018, 8);	/* tagged, 1000 bytes */
	frame(&c3, mac_c, mac_a, 10, 1019, 9);	/* 1001 bytes: too big */
	fx_port(f, &n10, 0, in0, RTE_DIM(in0));
	fx_port(f, &a10, 1000, NULL, 0);
	fx_port(f, &t10, 1000, NULL, 0);
	fx_port(f, &a10, 0, NULL, 0);
	assert_int_equal(sw_mac_add_static(f->sw, mac_b, 10, f->p[1]), 0);
	assert_int_equal(sw_mac_add_static(f->sw, mac_c, 10, f->p[2]), 0);
	fx_run(f);
	fx_wait(f);
	fx_close(f);
	expect_out(f, 0, NULL, 0);
	expect_out(f, 1, out1, RTE_DIM(out1));
	expect_out(f, 2, out2, RTE_DIM(out2));
	expect_out(f, 3, NULL, 0);
	only_drop(f, 0, -1, 0);
	only_drop(f, 1, SW_DROP_MTU, 1);
	only_drop(f, 2, SW_DROP_MTU, 1);
	only_drop(f, 3, -1, 0);
}

/*
 * Bursts whose frames share their addresses, EtherType and tag (each
 * port's file is one burst), all in VLAN 10. B is behind port 1 (MTU
 * 1000) and A behind port 0, both static. From port 0, frames to B of
 * four sizes leave port 1 as they came. From port 2, one of the frames
 * to B is too big for port 1 and is dropped there, the others leave.
 * From port 3, a trunk, tagged frames to B leave port 1 untagged. From
 * port 4, frames to
 * an unknown station are flooded, tagged on the trunk. From port 5, two
 * frames to A and a last one to B; from port 6, frames to A from two
 * sources. Port 1's own frames to B are dropped there. Every source is
 * learned on its port.
 */
static void
same_header_bursts(void **state)
{
	struct fx *f = *state;
	struct sw_vlan a10 = vl_access(10), t10 = vl_trunk(0, 10);
	static const uint8_t mac_e[6] = { 0x02, 0, 0, 0, 0, 0x0e };
	static const uint8_t mac_f[6] = { 0x02, 0, 0, 0, 0, 0x0f };
	static const uint8_t mac_g[6] = { 0x02, 0, 0, 0, 0, 0x10 };
	static const uint8_t mac_h[6] = { 0x02, 0, 0, 0, 0, 0x11 };
	static struct pkt a[4], c[3], t[3], tu[3], d[2], dt[2], e[3], s[2];
	static struct pkt g[2];
	const struct pkt *in0[] = { &a[0], &a[1], &a[2], &a[3] };
	const struct pkt *in1[] = { &s[0], &s[1] };
	const struct pkt *in2[] = { &c[0], &c[1], &c[2] };
	const struct pkt *in3[] = { &t[0], &t[1], &t[2] };
	const struct pkt *in4[] = { &d[0], &d[1] };
	const struct pkt *in5[] = { &e[0], &e[1], &e[2] };
	const struct pkt *in6[] = { &g[0], &g[1] };
	const struct pkt *out0[] = { &d[0], &d[1], &e[0], &e[1], &g[0],
				     &g[1] };
	const struct pkt *out1[] = { &a[0], &a[1], &a[2], &a[3], &c[0],
				     &c[2], &tu[0], &tu[1], &tu[2], &d[0],
				     &d[1], &e[2] };
	const struct pkt *out2[] = { &d[0], &d[1] };
	const struct pkt *out3[] = { &dt[0], &dt[1] };
	static const uint32_t alen[] = { 60, 128, 300, 1014 };
	unsigned int i;

	for (i = 0; i < 4; i++)
		frame(&a[i], mac_b, mac_a, -1, alen[i], (uint8_t)(1 + i));
	frame(&s[0], mac_b, mac_f, -1, 64, 5);
	frame(&s[1], mac_b, mac_f, -1, 64, 6);
	frame(&c[0], mac_b, mac_c, -1, 100, 7);
	frame(&c[1], mac_b, mac_c, -1, 1015, 8);	/* 1001 bytes */
	frame(&c[2], mac_b, mac_c, -1, 200, 9);
	for (i = 0; i < 3; i++) {
		frame(&t[i], mac_b, mac_t, 3 << 13 | 10, 80 + i,
		      (uint8_t)(10 + i));
		untagged(&tu[i], &t[i]);
	}
	for (i = 0; i < 2; i++) {
		frame(&d[i], mac_x, mac_d, -1, 90, (uint8_t)(13 + i));
		tagged(&dt[i], &d[i], 10);
	}
	frame(&e[0], mac_a, mac_e, -1, 70, 15);
	frame(&e[1], mac_a, mac_e, -1, 71, 16);
	frame(&e[2], mac_b, mac_e, -1, 72, 17);
	frame(&g[0], mac_a, mac_g, -1, 64, 18);
	frame(&g[1], mac_a, mac_h, -1, 64, 19);	/* another source */
	fx_port(f, &a10, 0, in0, RTE_DIM(in0));
	fx_port(f, &a10, 1000, in1, RTE_DIM(in1));
	fx_port(f, &a10, 0, in2, RTE_DIM(in2));
	fx_port(f, &t10, 0, in3, RTE_DIM(in3));
	fx_port(f, &a10, 0, in4, RTE_DIM(in4));
	fx_port(f, &a10, 0, in5, RTE_DIM(in5));
	fx_port(f, &a10, 0, in6, RTE_DIM(in6));
	assert_int_equal(sw_mac_add_static(f->sw, mac_a, 10, f->p[0]), 0);
	assert_int_equal(sw_mac_add_static(f->sw, mac_b, 10, f->p[1]), 0);
	fx_run(f);
	fx_wait(f);
	assert_int_equal(sw_mac_lookup(f->sw, mac_f, 10), 1);
	assert_int_equal(sw_mac_lookup(f->sw, mac_c, 10), 2);
	assert_int_equal(sw_mac_lookup(f->sw, mac_t, 10), 3);
	assert_int_equal(sw_mac_lookup(f->sw, mac_d, 10), 4);
	assert_int_equal(sw_mac_lookup(f->sw, mac_e, 10), 5);
	assert_int_equal(sw_mac_lookup(f->sw, mac_g, 10), 6);
	assert_int_equal(sw_mac_lookup(f->sw, mac_h, 10), 6);
	assert_int_equal(sw_mac_lookup(f->sw, mac_x, 10), -ENOENT);
	fx_close(f);
	expect_out(f, 0, out0, RTE_DIM(out0));
	expect_out(f, 1, out1, RTE_DIM(out1));
	expect_out(f, 2, out2, RTE_DIM(out2));
	expect_out(f, 3, out3, RTE_DIM(out3));
	expect_out(f, 4, NULL, 0);
	expect_out(f, 5, out2, RTE_DIM(out2));
	expect_out(f, 6, out2, RTE_DIM(out2));
	assert_int_equal(f->st[1].drops[SW_DROP_MTU], 1);
	assert_int_equal(f->st[1].drops[SW_DROP_SAME_PORT], 2);
	assert_int_equal(f->st[1].tx_packets, RTE_DIM(out1));
	assert_int_equal(f->st[1].tx_bytes,
			 60 + 128 + 300 + 1014 + 100 + 200 + 76 + 77 + 78 +
			 90 + 90 + 72);
	for (i = 0; i < f->n; i++)
		if (i != 1)
			only_drop(f, i, -1, 0);
}

/* Packets and bytes in and out of every port, runts included. */
static void
counters(void **state)
{
	struct fx *f = *state;
	static struct pkt a[3], b[2], runt;
	const struct pkt *in0[] = { &a[0], &a[1], &a[2] };
	const struct pkt *in1[] = { &b[0], &b[1] }, *in2[] = { &runt };
	const struct pkt *out2[] = { &a[0], &a[1], &a[2], &b[0], &b[1] };
	uint64_t a_bytes = 60 + 333 + 1514, b_bytes = 64 + 128;

	frame(&a[0], bcast, mac_a, -1, 60, 1);
	frame(&a[1], mcast, mac_a, -1, 333, 2);
	frame(&a[2], mac_x, mac_a, -1, 1514, 3);
	frame(&b[0], mac_x, mac_b, -1, 64, 4);
	frame(&b[1], bcast, mac_b, -1, 128, 5);
	frame(&runt, bcast, mac_c, -1, 13, 6);
	fx_port(f, NULL, 0, in0, 3);
	fx_port(f, NULL, 0, in1, 2);
	fx_port(f, NULL, 0, in2, 1);
	fx_run(f);
	fx_wait(f);
	fx_close(f);
	assert_int_equal(f->st[0].rx_packets, 3);
	assert_int_equal(f->st[0].rx_bytes, a_bytes);
	assert_int_equal(f->st[0].tx_packets, 2);
	assert_int_equal(f->st[0].tx_bytes, b_bytes);
	assert_int_equal(f->st[1].rx_packets, 2);
	assert_int_equal(f->st[1].rx_bytes, b_bytes);
	assert_int_equal(f->st[1].tx_packets, 3);
	assert_int_equal(f->st[1].tx_bytes, a_bytes);
	assert_int_equal(f->st[2].rx_packets, 1);
	assert_int_equal(f->st[2].rx_bytes, 13);
	assert_int_equal(f->st[2].tx_packets, 5);
	assert_int_equal(f->st[2].tx_bytes, a_bytes + b_bytes);
	only_drop(f, 0, -1, 0);
	only_drop(f, 1, -1, 0);
	only_drop(f, 2, SW_DROP_RUNT, 1);
	expect_out(f, 0, in1, 2);
	expect_out(f, 1, in0, 3);
	expect_out(f, 2, out2, 5);
}

/* An rx callback that makes every poll of its queue last SLOW_US. */
#define SLOW_US		200000

static uint16_t
slow_poll(uint16_t port __rte_unused, uint16_t queue __rte_unused,
	  struct rte_mbuf *pkts[] __rte_unused, uint16_t n,
	  uint16_t max __rte_unused, void *arg __rte_unused)
{
	rte_delay_us_block(SLOW_US);
	return n;
}

/*
 * Per-queue cycles count a queue's own polls that received frames, the
 * worker's busy cycles whole loops that received any. Ports 0 and 2 take
 * SLOW_US per poll and never receive; port 1 receives four frames once.
 * Port 1's cycles must hold none of its neighbours' slow polls, theirs
 * stay 0, and the worker's busy loop holds at least one slow poll.
 */
static void
queue_cycles(void **state)
{
	struct fx *f = *state;
	static struct pkt a[4];
	const struct pkt *in1[] = { &a[0], &a[1], &a[2], &a[3] };
	const struct rte_eth_rxtx_callback *cb[2];
	uint64_t slow = rte_get_tsc_hz() / 1000000 * SLOW_US;
	struct sw_worker_stats ws;
	struct sw_rxq_info q[3];
	unsigned int i;

	for (i = 0; i < 4; i++)
		frame(&a[i], bcast, mac_a, -1, 60, (uint8_t)i);
	fx_port(f, NULL, 0, NULL, 0);
	fx_port(f, NULL, 0, in1, 4);
	fx_port(f, NULL, 0, NULL, 0);
	for (i = 0; i < 2; i++) {
		cb[i] = rte_eth_add_rx_callback(sw_port_ethdev(f->p[i * 2]), 0,
						slow_poll, NULL);
		assert_non_null(cb[i]);
	}
	fx_run(f);
	fx_wait(f);
	fx_stop(f);
	for (i = 0; i < 3; i++)
		sw_rxq_info(f->p[i], 0, &q[i]);
	sw_worker_stats(f->sw, 0, &ws);
	for (i = 0; i < 2; i++) {
		assert_int_equal(rte_eth_remove_rx_callback(
			sw_port_ethdev(f->p[i * 2]), 0, cb[i]), 0);
		rte_free((void *)(uintptr_t)cb[i]);
	}
	fx_close(f);
	assert_int_equal(q[1].packets, 4);
	assert_true(q[1].cycles > 0);
	if (q[1].cycles >= slow / 2)
		fail_msg("port 1's queue: %" PRIu64 " cycles, a neighbour's "
			 "empty poll takes %" PRIu64, q[1].cycles, slow);
	for (i = 0; i < 3; i += 2) {
		assert_int_equal(q[i].packets, 0);
		assert_int_equal(q[i].cycles, 0);
	}
	assert_int_equal(ws.packets, 4);
	if (ws.busy_cycles < slow)
		fail_msg("worker busy %" PRIu64 " cycles, less than one slow "
			 "poll (%" PRIu64 ")", ws.busy_cycles, slow);
}

/*
 * Every port floods one or two frames. Port 1 is captured both ways,
 * port 2 what it receives only, cut at 64 bytes: the pcapng files hold
 * exactly those frames.
 */
static void
capture(void **state)
{
	struct fx *f = *state;
	static struct pkt a[2], b, c, got[8], cut;
	const struct pkt *in0[] = { &a[0], &a[1] }, *in1[] = { &b };
	const struct pkt *in2[] = { &c };
	const struct pkt *cap1[] = { &a[0], &a[1], &b, &c };
	const struct pkt *out1[] = { &a[0], &a[1], &c }, *cap2[] = { &cut };
	uint32_t wire[8];
	unsigned int dir = 0, n;
	char path1[512], path2[512];

	frame(&a[0], bcast, mac_a, -1, 60, 1);
	frame(&a[1], mac_x, mac_a, -1, 1514, 2);
	frame(&b, bcast, mac_b, -1, 200, 3);
	frame(&c, bcast, mac_c, -1, 300, 4);
	cut = c;
	cut.len = 64;
	path_in(path1, sizeof(path1), "cap", vdev_seq, "pcapng");
	path_in(path2, sizeof(path2), "cap", vdev_seq + 1, "pcapng");
	fx_port(f, NULL, 0, in0, 2);
	fx_port(f, NULL, 0, in1, 1);
	fx_port(f, NULL, 0, in2, 1);
	assert_null(sw_capture_info(f->p[1], &dir));
	assert_int_equal(sw_capture_start(f->sw, f->p[1], path1,
					  SW_CAP_RX | SW_CAP_TX, 65535), 0);
	assert_int_equal(sw_capture_start(f->sw, f->p[2], path2, SW_CAP_RX,
					  64), 0);
	assert_int_equal(sw_capture_start(f->sw, f->p[2], path2, SW_CAP_RX,
					  64), -EBUSY);
	assert_string_equal(sw_capture_info(f->p[1], &dir), path1);
	assert_int_equal(dir, SW_CAP_RX | SW_CAP_TX);
	fx_run(f);
	fx_wait(f);
	assert_int_equal(sw_capture_stop(f->sw, f->p[1], &f->cap_packets[1],
					 &f->cap_dropped[1]), 0);
	assert_int_equal(sw_capture_stop(f->sw, f->p[2], &f->cap_packets[2],
					 &f->cap_dropped[2]), 0);
	assert_null(sw_capture_info(f->p[1], &dir));
	fx_close(f);
	assert_int_equal(f->cap_packets[1], 4);
	assert_int_equal(f->cap_dropped[1], 0);
	assert_int_equal(f->cap_packets[2], 1);
	assert_int_equal(f->cap_dropped[2], 0);
	n = read_pcap(path1, got, wire, 8);
	same_frames("capture of port 1", got, n, cap1, 4);
	n = read_pcap(path2, got, wire, 8);
	same_frames("capture of port 2", got, n, cap2, 1);
	assert_int_equal(wire[0], 300);	/* cut, but its length kept */
	/* the traffic itself went on as usual */
	no_drops(f);
	expect_out(f, 1, out1, 3);
}

/*
 * sw.h: a zeroed struct sw_vlan is "trunk of every VLAN, native 0". Two
 * ports so configured must carry a VLAN 10 frame between them, tagged.
 */
static void
zeroed_vlan_is_trunk(void **state)
{
	struct fx *f = *state;
	static struct pkt t10, u;
	const struct pkt *in[] = { &t10, &u }, *out1[] = { &t10, &u };

	frame(&t10, bcast, mac_a, 10, 64, 1);
	frame(&u, bcast, mac_a, -1, 64, 2);
	fx_port(f, NULL, 0, in, 2);
	fx_port(f, NULL, 0, NULL, 0);
	fx_run(f);
	fx_wait(f);
	fx_close(f);
	no_drops(f);
	expect_out(f, 1, out1, 2);
}

/* Checksum offloads. */

#define IP_OFF		14
#define UDP_LEN		(8 + 30)
#define IP_LEN		(20 + UDP_LEN)

/* A UDP datagram in IPv4 from A to dst, its UDP checksum left 0. */
static void
udp_frame(struct pkt *p, const uint8_t dst[6], uint8_t seed)
{
	uint8_t *ip, *udp;
	unsigned int i;

	frame(p, dst, mac_a, -1, IP_OFF + IP_LEN, seed);
	put16(p->b + 12, 0x0800);
	ip = p->b + IP_OFF;
	memset(ip, 0, 28);
	ip[0] = 0x45;
	put16(ip + 2, IP_LEN);
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[15] = 1;		/* 10.0.0.1 */
	ip[16] = 10, ip[19] = 2;		/* 10.0.0.2 */
	put16(ip + 10, rte_ipv4_cksum((const struct rte_ipv4_hdr *)ip));
	udp = ip + 20;
	put16(udp, 1234);
	put16(udp + 2, 5678);
	put16(udp + 4, UDP_LEN);
	for (i = 8; i < UDP_LEN; i++)
		udp[i] = (uint8_t)(seed + i);
}

/* The UDP checksum of the datagram at ip, computed here, plainly. */
static uint16_t
udp_cksum(const uint8_t *ip)
{
	uint32_t sum = 17 + UDP_LEN, i;
	const uint8_t *udp = ip + 20;

	for (i = 12; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	for (i = 0; i < UDP_LEN; i += 2)
		if (i != 6)
			sum += (uint32_t)udp[i] << 8 |
			       (i + 1 < UDP_LEN ? udp[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return sum == 0 ? 0xffff : (uint16_t)sum;
}

/* The frame with its UDP checksum (its IP header at ip_off) filled in. */
static void
with_cksum(struct pkt *out, const struct pkt *in, unsigned int ip_off)
{
	*out = *in;
	put16(out->b + ip_off + 26, udp_cksum(out->b + ip_off));
}

/* Hand p to the worker as if port had received it, asking for the UDP
 * checksum to be computed on the way out (as a virtio guest does). */
static void
inject_udp(struct fx *f, const struct pkt *p, unsigned int port)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(f->sw->mp);
	char *d;

	assert_non_null(m);
	d = rte_pktmbuf_append(m, (uint16_t)p->len);
	assert_non_null(d);
	memcpy(d, p->b, p->len);
	m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
	m->l2_len = IP_OFF;
	m->l3_len = 20;
	m->l4_len = 8;
	sw_inject(f->sw, m, (uint16_t)port);
}

/*
 * Wait until the worker has handled n frames in all (the ports replay
 * nothing here: they are injected ones), and sent them on.
 */
static void
wait_handled(struct fx *f, uint64_t n)
{
	uint64_t deadline = now_ns() + WAIT_NS;
	struct sw_worker_stats ws;

	for (;;) {
		sw_worker_stats(f->sw, 0, &ws);
		if (ws.packets >= n)
			break;
		if (now_ns() > deadline)
			fail_msg("the worker handled %" PRIu64 " of %" PRIu64,
				 ws.packets, n);
		usleep(1000);
	}
	assert_int_equal(ws.packets, n);
}

/*
 * A frame of a guest asking for its UDP checksum, to a port that cannot
 * compute it (net_pcap): the worker computes it, also after adding a
 * VLAN tag on the way (the checksum then sits 4 bytes further).
 */
static void
offload_tagged(void **state)
{
	struct fx *f = *state;
	struct sw_vlan a10 = vl_access(10), t10 = vl_trunk(0, 10);
	static struct pkt u, u_ok, ut_ok, tmp;
	const struct pkt *out1[] = { &u_ok }, *out2[] = { &ut_ok };

	udp_frame(&u, mac_b, 1);
	with_cksum(&u_ok, &u, IP_OFF);
	tagged(&tmp, &u, 10);
	with_cksum(&ut_ok, &tmp, IP_OFF + 4);
	fx_port(f, &a10, 0, NULL, 0);
	fx_port(f, &a10, 0, NULL, 0);
	fx_port(f, &t10, 0, NULL, 0);
	assert_int_equal(f->p[1]->eth_tx_offloads &
			 RTE_ETH_TX_OFFLOAD_UDP_CKSUM, 0);
	fx_run(f);
	/* B is behind port 1 (access) first, then behind port 2 (trunk) */
	assert_int_equal(sw_mac_move(f->sw, mac_b, 10, 1), 0);
	inject_udp(f, &u, 0);
	wait_handled(f, 1);
	assert_int_equal(sw_mac_move(f->sw, mac_b, 10, 2), 0);
	inject_udp(f, &u, 0);
	wait_handled(f, 2);
	fx_close(f);
	expect_out(f, 0, NULL, 0);
	expect_out(f, 1, out1, 1);
	expect_out(f, 2, out2, 1);
	no_drops(f);
}

/*
 * The same, flooded to two such ports (the frame shared between them):
 * each sends it, its checksum computed.
 */
static void
offload_flooded(void **state)
{
	struct fx *f = *state;
	static struct pkt u, u_ok;
	const struct pkt *out[] = { &u_ok };

	udp_frame(&u, bcast, 2);
	with_cksum(&u_ok, &u, IP_OFF);
	fx_port(f, NULL, 0, NULL, 0);
	fx_port(f, NULL, 0, NULL, 0);
	fx_port(f, NULL, 0, NULL, 0);
	fx_run(f);
	inject_udp(f, &u, 0);
	wait_handled(f, 1);
	fx_close(f);
	expect_out(f, 0, NULL, 0);
	expect_out(f, 1, out, 1);
	expect_out(f, 2, out, 1);
	no_drops(f);
}

/* EAL without hugepages or PCI, the worker's lcore, a directory. */
static int
setup(void **state)
{
	char prefix[64];
	char *argv[] = { "test_sw_forward", "-l", "0,1", "--main-lcore", "0",
			 "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			 "--log-level", "*:error", "--file-prefix", prefix,
			 NULL };

	(void)state;
	snprintf(prefix, sizeof(prefix), "swfwd%d", (int)getpid());
	if (rte_eal_init(14, argv) < 0)
		return -1;
	return swt_tmpdir_make(tmpdir, sizeof(tmpdir), "sw_forward");
}

static int
teardown(void **state)
{
	(void)state;
	swt_tmpdir_remove(tmpdir, getenv("SW_FORWARD_KEEP") != NULL);
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(flooding, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(learning, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(vlans, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(unicast_runs, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(mtu, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(same_header_bursts, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(queue_cycles, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(counters, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(capture, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(zeroed_vlan_is_trunk, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(offload_tagged, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(offload_flooded, fx_setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

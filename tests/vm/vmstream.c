/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vmstream: the vm tests' stream tool, built statically into the test
 * guest. One side sends a known amount of pseudo-random data over TCP,
 * the other receives it; each prints the byte count and a FNV-1a hash of
 * the stream, so the test sees whether what arrived is what was sent.
 *
 *   vmstream recv PORT		  accept one connection, read to its end
 *   vmstream send ADDR[%IF] PORT BYTES [SEED]
 *
 * Both print one line: "vmstream: sent|received N bytes hash H in S s".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	65536
#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
fail(const char *what)
{
	fprintf(stderr, "vmstream: %s: %s\n", what, strerror(errno));
	return 1;
}

static int
addr_of(const char *spec, uint16_t port, struct sockaddr_in6 *sa)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *pct;

	snprintf(host, sizeof(host), "%s", spec);
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons(port);
	pct = strchr(host, '%');
	if (pct != NULL) {
		*pct = '\0';
		sa->sin6_scope_id = if_nametoindex(pct + 1);
		if (sa->sin6_scope_id == 0)
			return -1;
	}
	return inet_pton(AF_INET6, host, &sa->sin6_addr) == 1 ? 0 : -1;
}

static int
do_recv(uint16_t port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port) };
	static uint8_t buf[CHUNK];
	uint64_t h = FNV_OFFSET, total = 0;
	int one = 1, ls, s;
	double t0;
	ssize_t n;

	ls = socket(AF_INET6, SOCK_STREAM, 0);
	if (ls < 0)
		return fail("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, 1) < 0)
		return fail("bind/listen");
	s = accept(ls, NULL, NULL);
	if (s < 0)
		return fail("accept");
	t0 = now();
	while ((n = read(s, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail("read");
		}
		h = fnv(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	printf("vmstream: received %llu bytes hash %016llx in %.2f s\n",
	       (unsigned long long)total, (unsigned long long)h, now() - t0);
	return 0;
}

static int
do_send(const char *spec, uint16_t port, uint64_t bytes, uint64_t seed)
{
	static uint64_t buf[CHUNK / 8];
	uint64_t h = FNV_OFFSET, sent = 0, x = seed | 1;
	struct sockaddr_in6 sa;
	double t0;
	size_t i;
	int s;

	if (addr_of(spec, port, &sa) < 0) {
		fprintf(stderr, "vmstream: bad address %s\n", spec);
		return 1;
	}
	/* The receiver may still be starting: try for 10 s. */
	for (i = 0;; i++) {
		s = socket(AF_INET6, SOCK_STREAM, 0);
		if (s < 0)
			return fail("socket");
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno != ECONNREFUSED || i == 100)
			return fail("connect");
		close(s);
		usleep(100000);
	}
	t0 = now();
	while (sent < bytes) {
		size_t len = bytes - sent < CHUNK ? (size_t)(bytes - sent) :
			     CHUNK, off = 0;

		for (i = 0; i < CHUNK / 8; i++) {	/* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		h = fnv(h, (const uint8_t *)buf, len);
		while (off < len) {
			ssize_t n = write(s, (const uint8_t *)buf + off,
					  len - off);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return fail("write");
			}
			off += (size_t)n;
		}
		sent += len;
	}
	if (shutdown(s, SHUT_WR) < 0)
		return fail("shutdown");
	/* Wait for the receiver to close: everything was read. */
	while (read(s, buf, sizeof(buf)) > 0)
		;
	printf("vmstream: sent %llu bytes hash %016llx in %.2f s\n",
	       (unsigned long long)sent, (unsigned long long)h, now() - t0);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "recv") == 0)
		return do_recv((uint16_t)atoi(argv[2]));
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], (uint16_t)atoi(argv[3]),
			       strtoull(argv[4], NULL, 0),
			       argc == 6 ? strtoull(argv[5], NULL, 0) : 1);
	fprintf(stderr, "usage: vmstream recv PORT\n"
			"       vmstream send ADDR[%%IF] PORT BYTES [SEED]\n");
	return 2;
}

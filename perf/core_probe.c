/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * core-probe: the round trip of one cache line between two CPUs. A thread
 * on each CPU hands a counter back and forth through the line; the mean
 * time per round trip (two transfers of the line) is printed in ns. The
 * peer benchmark runs it between its windows, with its processes
 * stopped, to tell which state the machine's cores are in.
 *
 * Usage: core-probe [CPU_A CPU_B [ROUNDS]]   (default 1 0 20000)
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct probe {
	uint64_t rounds;
	int cpu;
	int ready;	/* 1: the far end is pinned, -1: it could not be */
	/* the line that travels, alone in it */
	uint64_t turn __attribute__((aligned(64)));
	char pad[64 - sizeof(uint64_t)];
};

static int
pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The far end: answers each odd turn with the next even one. */
static void *
answer(void *arg)
{
	struct probe *p = arg;
	uint64_t i;

	if (pin(p->cpu) != 0) {
		__atomic_store_n(&p->ready, -1, __ATOMIC_RELEASE);
		return NULL;
	}
	__atomic_store_n(&p->ready, 1, __ATOMIC_RELEASE);
	for (i = 1; i <= p->rounds; i++) {
		while (__atomic_load_n(&p->turn, __ATOMIC_ACQUIRE) != 2 * i - 1)
			;
		__atomic_store_n(&p->turn, 2 * i, __ATOMIC_RELEASE);
	}
	return NULL;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	static struct probe p;
	int cpu_a = 1, rc;
	pthread_t t;
	double t0, t1;
	int ready;
	uint64_t i;

	p.cpu = 0;
	p.rounds = 20000;
	if (argc >= 3) {
		cpu_a = atoi(argv[1]);
		p.cpu = atoi(argv[2]);
	}
	if (argc >= 4)
		p.rounds = strtoull(argv[3], NULL, 10);
	if (argc == 2 || argc > 4 || p.rounds == 0 || cpu_a == p.cpu) {
		fprintf(stderr, "usage: core-probe [CPU_A CPU_B [ROUNDS]]\n");
		return 2;
	}
	rc = pin(cpu_a);
	if (rc != 0) {
		fprintf(stderr, "core-probe: CPU %d: %s\n", cpu_a, strerror(rc));
		return 1;
	}
	rc = pthread_create(&t, NULL, answer, &p);
	if (rc != 0) {
		fprintf(stderr, "core-probe: thread: %s\n", strerror(rc));
		return 1;
	}
	while ((ready = __atomic_load_n(&p.ready, __ATOMIC_ACQUIRE)) == 0)
		;
	if (ready < 0) {
		fprintf(stderr, "core-probe: CPU %d: cannot pin\n", p.cpu);
		pthread_join(t, NULL);
		return 1;
	}
	t0 = now_ns();
	for (i = 1; i <= p.rounds; i++) {
		__atomic_store_n(&p.turn, 2 * i - 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&p.turn, __ATOMIC_ACQUIRE) != 2 * i)
			;
	}
	t1 = now_ns();
	pthread_join(t, NULL);
	printf("%.1f\n", (t1 - t0) / (double)p.rounds);
	return 0;
}

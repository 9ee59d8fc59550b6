/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vuswitchd: the vhost-user switch daemon. Starts EAL (hugepages when
 * there are free ones, else --no-huge), puts the main lcore and the
 * control thread on the first core and one poll-mode worker on each
 * other core, adds the configured ports, serves the control socket, and
 * on SIGTERM stops the workers, closes every front-end's session and
 * exits.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "vuswitchd.h"

#define EAL_ARGS_MAX	64

/* Free 2 MB pages on a mounted hugetlbfs, 0 if none can be used. */
static long
free_hugepages(void)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[512];
	bool mounted = false;
	long n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		mounted |= strstr(line, " hugetlbfs ") != NULL;
	fclose(f);
	f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
		  "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &n) != 1)
		n = 0;
	fclose(f);
	return mounted ? n : 0;
}

/* The CPUs to use: --lcores, else every CPU we may run on. */
static int
cpu_list(const char *spec, int *cpus, int max)
{
	cpu_set_t set;
	int n = 0, c;

	if (spec[0] != '\0') {
		char *copy = strdup(spec), *tok, *save = NULL;

		for (tok = strtok_r(copy, ",", &save); tok != NULL && n < max;
		     tok = strtok_r(NULL, ",", &save))
			cpus[n++] = atoi(tok);
		free(copy);
		return n;
	}
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

/*
 * lcore 0 on the first CPU, lcore i on the i-th; with one CPU, the
 * worker shares it with the control thread (slow, but it works).
 */
static int
lcore_map(const struct vsd_conf *c, char *buf, size_t len)
{
	int cpus[SW_MAX_WORKERS + 1], n, i;
	size_t off = 0;

	n = cpu_list(c->lcores, cpus, SW_MAX_WORKERS + 1);
	if (n == 0)
		return -1;
	if (n == 1) {
		fprintf(stderr, "vuswitchd: one CPU only: the worker shares "
			"it with the control thread\n");
		cpus[n++] = cpus[0];
	}
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%d@%d",
					i ? "," : "", i, cpus[i]);
	return n - 1;
}

static int
eal_start(const struct vsd_conf *c, const char *prog)
{
	char *argv[EAL_ARGS_MAX], map[512], prefix[80];
	int argc = 0, i, nworkers = lcore_map(c, map, sizeof(map));

	if (nworkers < 1) {
		fprintf(stderr, "vuswitchd: no CPUs for the lcores\n");
		return -1;
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s", c->file_prefix);
	argv[argc++] = (char *)(uintptr_t)prog;
	argv[argc++] = (char *)(uintptr_t)"--lcores";
	argv[argc++] = map;
	argv[argc++] = (char *)(uintptr_t)"--main-lcore=0";
	argv[argc++] = prefix;
	if (c->no_huge || free_hugepages() < 64) {
		printf("vuswitchd: %s: running with --no-huge (slower; see "
		       "scripts/hugepages.sh)\n", c->no_huge ? "as asked" :
		       "no free hugepages");
		argv[argc++] = (char *)(uintptr_t)"--no-huge";
		argv[argc++] = (char *)(uintptr_t)"-m";
		argv[argc++] = (char *)(uintptr_t)"1024";
	} else {
		/* hugepage memory in memfds: no files left on hugetlbfs */
		argv[argc++] = (char *)(uintptr_t)"--in-memory";
	}
	for (i = 0; i < c->eal_argc && argc < EAL_ARGS_MAX; i++)
		argv[argc++] = c->eal_argv[i];
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "vuswitchd: EAL start-up failed: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}
	return (int)rte_lcore_count() - 1;
}

/* Make the directory a socket is to be created in. */
static void
make_parent(const char *path)
{
	char dir[256], *slash;

	if (path == NULL || snprintf(dir, sizeof(dir), "%s", path) >=
	    (int)sizeof(dir))
		return;
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) != 0 && errno == ENOENT) {
		make_parent(dir);
		mkdir(dir, 0755);
	}
}

static struct sw *
switch_start(const struct vsd_conf *c, unsigned int nworkers)
{
	unsigned int lcores[SW_MAX_WORKERS], lc, n = 0;
	struct sw_params p = {
		.nworkers = nworkers,
		.worker_lcores = lcores,
		.mbufs = c->mbufs,
		.mac_aging_s = c->mac_aging_s,
		.loop = { .watch = vsd_loop_watch },
	};
	struct sw *sw;

	RTE_LCORE_FOREACH_WORKER(lc)
		if (n < SW_MAX_WORKERS)
			lcores[n++] = lc;
	p.nworkers = n < nworkers ? n : nworkers;
	sw = sw_create(&p);
	if (sw == NULL)
		fprintf(stderr, "vuswitchd: cannot create the switch: %s\n",
			rte_strerror(rte_errno));
	return sw;
}

static int
add_ports(struct sw *sw, const struct vsd_conf *c)
{
	char err[256];
	unsigned int i;

	for (i = 0; i < c->nports; i++) {
		make_parent(c->ports[i].path);
		if (sw_port_add(sw, &c->ports[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "vuswitchd: port %s: %s\n",
				c->ports[i].name, err);
			return -1;
		}
		printf("vuswitchd: port %s: %s %s\n", c->ports[i].name,
		       c->ports[i].type == SW_PORT_VHOST ? "vhost-user" :
		       "ethdev", c->ports[i].type == SW_PORT_ETHDEV ?
		       c->ports[i].devargs : c->ports[i].path != NULL ?
		       c->ports[i].path : "(fd)");
	}
	return 0;
}

static void
launch_workers(struct sw *sw)
{
	unsigned int w;

	for (w = 0; w < sw_worker_count(sw); w++) {
		struct sw_worker_stats s;

		sw_worker_stats(sw, w, &s);
		rte_eal_remote_launch(sw_worker_main, sw_worker_arg(sw, w),
				      s.lcore);
	}
}

int
main(int argc, char **argv)
{
	struct vsd_conf c;
	struct sw *sw;
	int rc, nworkers;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = vsd_conf_parse(argc, argv, &c);
	if (rc != 0) {
		vsd_conf_free(&c);
		return rc > 0 ? 0 : 2;
	}
	if (c.debug) {
		vhu_set_log_level(VHU_LOG_DEBUG);
		rte_log_set_level_pattern("vuswitch.*", RTE_LOG_DEBUG);
	}
	if (vsd_loop_init() < 0) {
		perror("vuswitchd: event loop");
		vsd_conf_free(&c);
		return 1;
	}
	nworkers = eal_start(&c, argv[0]);
	sw = nworkers < 1 ? NULL : switch_start(&c, (unsigned int)nworkers);
	if (sw == NULL) {
		vsd_conf_free(&c);
		return 1;
	}
	make_parent(c.control_socket);
	rc = add_ports(sw, &c);
	if (rc == 0)
		rc = vsd_ctl_open(sw, c.control_socket);
	if (rc == 0) {
		vsd_telemetry_register(sw);
		launch_workers(sw);
		printf("vuswitchd: ready: %u ports, %u workers, control "
		       "socket %s\n", sw_port_count(sw), sw_worker_count(sw),
		       c.control_socket);
		vsd_loop_run(sw);
		printf("vuswitchd: stopping\n");
	}
	sw_stop_workers(sw);
	rte_eal_mp_wait_lcore();
	vsd_ctl_close();
	sw_destroy(sw);
	vsd_conf_free(&c);
	rte_eal_cleanup();
	printf("vuswitchd: stopped\n");
	return rc == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vuswitchd: what the daemon's parts share. main.c starts EAL and the
 * workers, conf.c reads options and the configuration file, loop.c is
 * the control thread's epoll loop, ctl.c the control socket, telemetry.c
 * the DPDK telemetry commands.
 */
#ifndef VUSWITCHD_H
#define VUSWITCHD_H

#include <stdbool.h>
#include <stdint.h>

#include "sw.h"

#define VSD_MAX_PORTS_CONF	64
#define VSD_DEFAULT_CTL		"/run/vuswitch/vuswitchd.ctl"

/* Everything the command line and the configuration file decide. */
struct vsd_conf {
	const char *config;		/* file read, or NULL */
	char control_socket[256];
	char lcores[256];		/* CPU list; empty: all we may use */
	char file_prefix[64];
	bool no_huge;
	bool debug;			/* every protocol message logged */
	uint32_t mac_aging_s;
	uint32_t mbufs;
	unsigned int nports;
	struct sw_port_conf ports[VSD_MAX_PORTS_CONF];
	int eal_argc;			/* after "--" */
	char **eal_argv;
};

/* conf.c: 0, or -1 after printing why on stderr; 1: exit 0 now. */
int vsd_conf_parse(int argc, char **argv, struct vsd_conf *c);
void vsd_conf_free(struct vsd_conf *c);
/* "10,20,100-199" or "all" into a trunk's VLAN set. */
int vsd_parse_vlan_list(const char *s, struct sw_vlan *v);
/* "access:10", "trunk", "trunk:10,20-30" */
int vsd_parse_vlan(const char *s, struct sw_vlan *v);
int vsd_parse_uint(const char *s, unsigned long max, unsigned long *out);

/* loop.c: the control thread's event loop. */
int vsd_loop_init(void);
int vsd_loop_watch(void *ctx, int fd, uint32_t events, sw_event_fn fn,
		   void *arg);
/* Run until a signal asks us to stop. */
void vsd_loop_run(struct sw *sw);

/* ctl.c */
int vsd_ctl_open(struct sw *sw, const char *path);
void vsd_ctl_close(void);
/* telemetry.c */
void vsd_telemetry_register(struct sw *sw);

#endif /* VUSWITCHD_H */

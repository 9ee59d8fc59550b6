/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The switch's counters through DPDK telemetry (dpdk-telemetry.py or the
 * telemetry socket): /vuswitch/ports, /vuswitch/port,NAME (counters and
 * drops by reason), /vuswitch/workers. The callbacks run on the
 * telemetry thread and hold the switch's lock while they read.
 */
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

#include "vuswitchd.h"

static struct sw *tel_sw;

static int
tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned int i;

	(void)cmd;
	(void)params;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	sw_lock(tel_sw);
	for (i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *p = sw_port_by_index(tel_sw, i);

		if (p != NULL)
			rte_tel_data_add_array_string(d, sw_port_name(p));
	}
	sw_unlock(tel_sw);
	return 0;
}

static int
tel_port(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct sw_port_stats s;
	struct sw_port *p;
	char key[64];
	unsigned int r;

	(void)cmd;
	if (params == NULL)
		return -1;
	sw_lock(tel_sw);
	p = sw_port_find(tel_sw, params);
	if (p == NULL) {
		sw_unlock(tel_sw);
		return -1;
	}
	sw_port_stats(tel_sw, p, &s);
	sw_unlock(tel_sw);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rx_packets", s.rx_packets);
	rte_tel_data_add_dict_u64(d, "rx_bytes", s.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", s.tx_packets);
	rte_tel_data_add_dict_u64(d, "tx_bytes", s.tx_bytes);
	for (r = 0; r < SW_DROP_MAX; r++) {
		snprintf(key, sizeof(key), "drop_%s", sw_drop_name(r));
		rte_tel_data_add_dict_u64(d, key, s.drops[r]);
	}
	return 0;
}

static int
tel_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned int w;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (w = 0; w < sw_worker_count(tel_sw); w++) {
		struct rte_tel_data *c = rte_tel_data_alloc();
		struct sw_worker_stats s;
		char key[32];

		if (c == NULL)
			return -1;
		sw_worker_stats(tel_sw, w, &s);
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_u64(c, "lcore", s.lcore);
		rte_tel_data_add_dict_u64(c, "busy_cycles", s.busy_cycles);
		rte_tel_data_add_dict_u64(c, "idle_cycles", s.idle_cycles);
		rte_tel_data_add_dict_u64(c, "packets", s.packets);
		rte_tel_data_add_dict_u64(c, "iterations", s.iterations);
		snprintf(key, sizeof(key), "worker%u", w);
		rte_tel_data_add_dict_container(d, key, c, 0);
	}
	return 0;
}

void
vsd_telemetry_register(struct sw *sw)
{
	tel_sw = sw;
	rte_telemetry_register_cmd("/vuswitch/ports", tel_ports,
				   "vuswitch port names");
	rte_telemetry_register_cmd("/vuswitch/port", tel_port,
		"a port's counters and drops by reason. Parameter: name");
	rte_telemetry_register_cmd("/vuswitch/workers", tel_workers,
		"each worker's busy and idle cycles and packets");
}

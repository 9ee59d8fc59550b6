/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's commands (ctl_cmds.c) and the JSON views of ports,
 * statistics and workers they share with telemetry.c.
 */
#ifndef CTL_JSON_H
#define CTL_JSON_H

#include <jansson.h>

#include "sw.h"

json_t *vsd_port_json(struct sw *sw, struct sw_port *p, bool detail);
json_t *vsd_stats_json(struct sw *sw, struct sw_port *p);
json_t *vsd_worker_json(struct sw *sw, unsigned int w);

#define VSD_CMD(name) \
	json_t *vsd_cmd_##name(struct sw *sw, json_t *args, char *err, \
			       size_t errlen)
VSD_CMD(version);
VSD_CMD(list_ports);
VSD_CMD(show_port);
VSD_CMD(add_port);
VSD_CMD(del_port);
VSD_CMD(show_stats);
VSD_CMD(show_macs);
VSD_CMD(add_mac);
VSD_CMD(del_mac);
VSD_CMD(show_workers);
VSD_CMD(show_mbufs);
VSD_CMD(rebalance);
VSD_CMD(set_vlan);
VSD_CMD(capture_start);
VSD_CMD(capture_stop);

#endif /* CTL_JSON_H */

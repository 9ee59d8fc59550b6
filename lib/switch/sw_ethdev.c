/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ethdev ports (uplinks): any DPDK PMD, probed at run time from devargs
 * (net_tap, net_af_packet, net_pcap, a NIC's PCI address). The port gets
 * the rx queues the operator asked for and one tx queue per worker, so
 * no worker ever shares a tx queue with another.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "sw_internal.h"

#define SW_ETH_DESC	1024

/* Transmit offloads used when the PMD has them. */
#define SW_ETH_TX_OFFLOADS \
	(RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | \
	 RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM | \
	 RTE_ETH_TX_OFFLOAD_TCP_TSO)

static bool
port_taken(const struct sw *sw, uint16_t eth_port)
{
	unsigned int i;

	for (i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL &&
		    sw->ports[i]->conf.type == SW_PORT_ETHDEV &&
		    sw->ports[i]->eth_port == eth_port)
			return true;
	return false;
}

/*
 * The device name is what comes before the first comma of devargs. A
 * device EAL probed at start-up (a NIC bound to vfio-pci) is adopted.
 */
static int
probe(const struct sw *sw, const char *devargs, uint16_t *port, char *err,
      size_t errlen)
{
	char name[RTE_DEV_NAME_MAX_LEN];
	size_t n = strcspn(devargs, ",");
	int rc;

	if (n == 0 || n >= sizeof(name)) {
		snprintf(err, errlen, "devargs must start with a device name");
		return -EINVAL;
	}
	memcpy(name, devargs, n);
	name[n] = '\0';
	if (rte_eth_dev_get_port_by_name(name, port) == 0) {
		if (!port_taken(sw, *port))
			return 0;
		snprintf(err, errlen, "device %s is already in use", name);
		return -EEXIST;
	}
	rc = rte_dev_probe(devargs);
	if (rc < 0) {
		snprintf(err, errlen, "probing %s failed: %s", devargs,
			 strerror(-rc));
		return rc;
	}
	if (rte_eth_dev_get_port_by_name(name, port) != 0) {
		snprintf(err, errlen, "%s is not an ethdev", name);
		return -ENODEV;
	}
	return 0;
}

static int
setup_queues(struct sw *sw, struct sw_port *p, char *err, size_t errlen)
{
	uint16_t pid = p->eth_port, nrx = SW_ETH_DESC, ntx = SW_ETH_DESC;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	unsigned int q;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(pid, &info);
	if (rc == 0 && (p->nq > info.max_rx_queues ||
			sw->nworkers > info.max_tx_queues)) {
		snprintf(err, errlen, "%u rx and %u tx queues needed, the "
			 "device has %u and %u", p->nq, sw->nworkers,
			 info.max_rx_queues, info.max_tx_queues);
		return -EINVAL;
	}
	if (rc == 0) {
		conf.txmode.offloads = info.tx_offload_capa &
				       SW_ETH_TX_OFFLOADS;
		p->eth_tx_offloads = conf.txmode.offloads;
		rc = rte_eth_dev_configure(pid, p->nq,
					   (uint16_t)sw->nworkers, &conf);
	}
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
	for (q = 0; rc == 0 && q < p->nq; q++)
		rc = rte_eth_rx_queue_setup(pid, (uint16_t)q, nrx,
			rte_eth_dev_socket_id(pid), NULL, sw->mp);
	for (q = 0; rc == 0 && q < sw->nworkers; q++)
		rc = rte_eth_tx_queue_setup(pid, (uint16_t)q, ntx,
			rte_eth_dev_socket_id(pid), NULL);
	if (rc < 0)
		snprintf(err, errlen, "configuring %s: %s", p->devargs,
			 strerror(-rc));
	return rc;
}

int
sw_ethdev_open(struct sw *sw, struct sw_port *p, char *err, size_t errlen)
{
	int rc = probe(sw, p->devargs, &p->eth_port, err, errlen);

	if (rc < 0)
		return rc;
	rc = setup_queues(sw, p, err, errlen);
	if (rc == 0) {
		rc = rte_eth_dev_start(p->eth_port);
		if (rc < 0)
			snprintf(err, errlen, "starting %s: %s", p->devargs,
				 strerror(-rc));
	}
	if (rc < 0) {
		sw_ethdev_close(sw, p);
		return rc;
	}
	rte_eth_promiscuous_enable(p->eth_port);
	p->eth_started = true;
	return 0;
}

void
sw_ethdev_close(struct sw *sw, struct sw_port *p)
{
	struct rte_eth_dev_info info;
	struct rte_device *dev = NULL;

	(void)sw;
	if (rte_eth_dev_info_get(p->eth_port, &info) == 0)
		dev = info.device;
	if (p->eth_started)
		rte_eth_dev_stop(p->eth_port);
	p->eth_started = false;
	rte_eth_dev_close(p->eth_port);
	if (dev != NULL)
		rte_dev_remove(dev);
}

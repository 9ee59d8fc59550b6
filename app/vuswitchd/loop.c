/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's event loop: one epoll set for every vhost-user
 * socket, the control socket and its clients, and a signalfd for SIGTERM
 * and SIGINT; the switch's timers (MAC ageing, reconnect back-off,
 * capture writes) set the epoll timeout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vuswitchd.h"

struct handler {
	sw_event_fn fn;
	void *arg;
};

static int epfd = -1;
static int sigfd = -1;
static struct handler *handlers;	/* indexed by fd */
static int nhandlers;

static int
grow(int fd)
{
	int n = nhandlers;
	struct handler *h;

	if (fd < nhandlers)
		return 0;
	while (n <= fd)
		n = n == 0 ? 256 : n * 2;
	h = realloc(handlers, (size_t)n * sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	memset(h + nhandlers, 0, (size_t)(n - nhandlers) * sizeof(*h));
	handlers = h;
	nhandlers = n;
	return 0;
}

int
vsd_loop_watch(void *ctx, int fd, uint32_t events, sw_event_fn fn,
	       void *arg)
{
	struct epoll_event ev = { .data.fd = fd };

	(void)ctx;
	if (fd < 0 || grow(fd) < 0)
		return -EINVAL;
	if (events == 0) {
		handlers[fd].fn = NULL;
		return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 :
		       -errno;
	}
	ev.events = ((events & VHU_EV_IN) ? EPOLLIN : 0) |
		    ((events & VHU_EV_OUT) ? EPOLLOUT : 0);
	handlers[fd].fn = fn;
	handlers[fd].arg = arg;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	handlers[fd].fn = NULL;
	return -errno;
}

int
vsd_loop_init(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sigfd < 0 || epfd < 0)
		return -1;
	ev.data.fd = sigfd;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev);
}

static uint32_t
to_vhu(uint32_t e)
{
	return ((e & EPOLLIN) ? VHU_EV_IN : 0) |
	       ((e & EPOLLOUT) ? VHU_EV_OUT : 0) |
	       ((e & (EPOLLERR | EPOLLHUP)) ? VHU_EV_ERR : 0);
}

void
vsd_loop_run(struct sw *sw)
{
	struct epoll_event evs[64];
	int n, i;

	for (;;) {
		n = epoll_wait(epfd, evs, 64, sw_next_timeout_ms(sw));
		if (n < 0 && errno != EINTR) {
			perror("vuswitchd: epoll_wait");
			return;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sigfd)
				return;
			/* a handler may have unwatched fd meanwhile */
			if (fd < nhandlers && handlers[fd].fn != NULL)
				handlers[fd].fn(handlers[fd].arg, fd,
						to_vhu(evs[i].events));
		}
		sw_timers(sw);
	}
}

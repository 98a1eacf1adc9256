/*
 * Sandbox side: the bridge of --allow-net. The sandbox's network namespace has only lo; the proxy runs in the
 * caller (src/net/proxy.ts), listening on a unix socket that the spec binds into the sandbox. Programs speak to
 * an HTTP or SOCKS proxy over TCP, so the sandbox's init listens at 127.0.0.1:PORT before the command exists (its
 * first connection finds the port open) and forks this small process, which joins each connection accepted there
 * to a new connection to the socket, bytes both ways, half-closes passed on.
 *
 * It decides nothing: the socket is in the sandbox's tree, so everything the bridge reaches, the command reaches
 * too; the proxy decides. It keeps no capability, may not gain any (no_new_privs), is not dumpable (the init is
 * not), holds no fd but its sockets, and dies with the sandbox (the init kills everything when the command ends).
 * Bounded: RELAY_SLOTS connections at a time (past them it stops accepting, and the kernel's backlog holds the
 * rest), two RELAY_BUF buffers each, in static memory: no allocation, only async-signal-safe calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "core.h"

#define RELAY_SLOTS 64
#define RELAY_BUF 16384

/* One direction of a connection: bytes read from one side, waiting to be written to the other. */
struct half {
  size_t off, len; /* buf[off..len) is still to be written */
  int state;       /* 0: open, 1: its reader reached the end, 2: the end was passed on (SHUT_WR) */
  char buf[RELAY_BUF];
};

/* fd[0]: the client, accepted at 127.0.0.1:PORT; fd[1]: the proxy's socket. h[0]: client -> proxy, h[1] back. */
struct slot {
  int fd[2];
  struct half h[2];
};

static struct slot slots[RELAY_SLOTS];

static void slot_close(struct slot *c) {
  close(c->fd[0]);
  close(c->fd[1]);
  c->fd[0] = c->fd[1] = -1;
}

/* A new connection to the proxy's socket, non-blocking once connected; -1 when the proxy is gone. */
static int connect_proxy(const char *path) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof(a));
  a.sun_family = AF_UNIX;
  hk_copy(a.sun_path, sizeof(a.sun_path), path, NULL, NULL); /* spec.c checked that it fits */
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc;
  while ((rc = connect(fd, (struct sockaddr *)&a, sizeof(a))) < 0 && errno == EINTR) {
  }
  if (rc < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Moves one direction along: reads when its buffer is empty, writes what it holds, passes the end on. */
static int step(struct slot *c, int d, short from_events) {
  struct half *h = &c->h[d];
  int from = c->fd[d], to = c->fd[1 - d];
  if (h->len == 0 && h->state == 0 && (from_events & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = recv(from, h->buf, sizeof(h->buf), 0);
    if (n > 0) h->off = 0, h->len = (size_t)n;
    else if (n == 0) h->state = 1;
    else if (errno != EAGAIN && errno != EINTR) return -1;
  }
  while (h->off < h->len) {
    ssize_t n = send(to, h->buf + h->off, h->len - h->off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return -1;
    }
    h->off += (size_t)n;
  }
  if (h->off == h->len) h->off = h->len = 0;
  if (h->state == 1 && h->len == 0) {
    shutdown(to, SHUT_WR);
    h->state = 2;
  }
  return 0;
}

/* The poll events fd[side] of a slot waits for: reading while its direction's buffer is empty, writing while the
 * other direction's buffer holds bytes. 0: leave it out (a hang-up it cannot act on would wake the loop). */
static short wanted(const struct slot *c, int side) {
  short ev = 0;
  if (c->h[side].len == 0 && c->h[side].state == 0) ev |= POLLIN;
  if (c->h[1 - side].len > 0) ev |= POLLOUT;
  return ev;
}

static void relay_loop(int listen_fd, const char *path) __attribute__((noreturn));
static void relay_loop(int listen_fd, const char *path) {
  static struct pollfd p[1 + 2 * RELAY_SLOTS];
  for (int i = 0; i < RELAY_SLOTS; i++) slots[i].fd[0] = slots[i].fd[1] = -1;
  for (;;) {
    int free_slot = -1;
    for (int i = 0; i < RELAY_SLOTS; i++) {
      struct slot *c = &slots[i];
      for (int side = 0; side < 2; side++) {
        short ev = c->fd[0] < 0 ? 0 : wanted(c, side);
        p[1 + 2 * i + side] = (struct pollfd){.fd = ev ? c->fd[side] : -1, .events = ev};
      }
      if (c->fd[0] < 0 && free_slot < 0) free_slot = i;
    }
    p[0] = (struct pollfd){.fd = free_slot >= 0 ? listen_fd : -1, .events = POLLIN};
    if (poll(p, 1 + 2 * RELAY_SLOTS, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    for (int i = 0; i < RELAY_SLOTS; i++) {
      struct slot *c = &slots[i];
      short e0 = p[1 + 2 * i].revents, e1 = p[2 + 2 * i].revents;
      if (c->fd[0] < 0 || !(e0 | e1)) continue;
      if (step(c, 0, e0) < 0 || step(c, 1, e1) < 0 || (c->h[0].state == 2 && c->h[1].state == 2)) slot_close(c);
    }
    while (free_slot >= 0 && (p[0].revents & POLLIN)) {
      int client = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) break; /* EAGAIN: none left (or an aborted one) */
      int proxy = connect_proxy(path);
      if (proxy < 0) {
        close(client);
        continue;
      }
      struct slot *c = &slots[free_slot];
      memset(c->h, 0, sizeof(c->h));
      c->fd[0] = client, c->fd[1] = proxy;
      free_slot = -1;
      for (int i = 0; i < RELAY_SLOTS && free_slot < 0; i++)
        if (slots[i].fd[0] < 0) free_slot = i;
    }
  }
}

/* The forked bridge: nothing of the init's but the listening socket, no capability, then the loop. */
static void relay_main(int listen_fd, const char *path) __attribute__((noreturn));
static void relay_main(int listen_fd, const char *path) {
  prctl(PR_SET_NAME, "hakoniwa-net");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) _exit(125);
  /* The command's stdio, the report pipe and the events fd are not the bridge's to hold. */
  if ((listen_fd > 0 && syscall(SYS_close_range, 0, listen_fd - 1, 0) < 0) ||
      syscall(SYS_close_range, listen_fd + 1, ~0U, 0) < 0)
    _exit(125);
  for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) _exit(125);
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof(data));
  if (syscall(SYS_capset, &hdr, data) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(125);
  relay_loop(listen_fd, path);
}

void hk_start_relay(struct hk_spec *s) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)s->relay_port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0)
    hk_fail(s, HK_S_NET_RELAY, errno, "127.0.0.1");
  /* The raw syscall, as for the command: nothing but the fork. */
  long pid = syscall(SYS_fork);
  if (pid < 0) hk_fail(s, HK_S_NET_RELAY, errno, "fork");
  if (pid == 0) relay_main(fd, s->relay_socket);
  close(fd);
}

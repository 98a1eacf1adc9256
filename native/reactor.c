/*
 * Caller side: the one event loop that every sandbox of a process shares. The caller's ends of the stdio pipes
 * and the monitors' pidfds are watched by one epoll set, and one worker thread at a time waits in
 * hk_reactor_wait: a process with hundreds of sandboxes in flight ties up one thread of Deno's blocking pool
 * (32 threads), not one per pipe or per sandbox. Each fd is armed for one event at a time (EPOLLONESHOT); the
 * caller reads and writes it without blocking (hk_try_read / hk_try_write) and arms it again when it wants more.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core.h"

int32_t hk_reactor_open(int32_t *out) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return -errno;
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  if (wake < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, wake, &ev) < 0) {
    int e = errno;
    if (wake >= 0) close(wake);
    close(ep);
    return -e;
  }
  out[0] = ep, out[1] = wake;
  return 0;
}

int32_t hk_reactor_arm(int32_t ep, int32_t fd, uint32_t what, uint64_t token) {
  struct epoll_event ev = {.events = EPOLLONESHOT, .data.u64 = token};
  if (what & HK_WANT_READ) ev.events |= EPOLLIN;
  if (what & HK_WANT_WRITE) ev.events |= EPOLLOUT;
  if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
  if (errno != ENOENT) return -errno;
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int32_t hk_reactor_forget(int32_t ep, int32_t fd) {
  return epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != ENOENT ? -errno : 0;
}

int32_t hk_reactor_wait(int32_t ep, uint8_t *out, int32_t max, int32_t timeout_ms) {
  struct epoll_event evs[64];
  if (max > 64) max = 64;
  int n;
  while ((n = epoll_wait(ep, evs, max, timeout_ms)) < 0 && errno == EINTR) {
  }
  if (n < 0) return -errno;
  for (int i = 0; i < n; i++) {
    uint64_t token = evs[i].data.u64;
    uint32_t what = 0;
    if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) what |= HK_WANT_READ;
    if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) what |= HK_WANT_WRITE;
    memcpy(out + 16 * i, &token, 8);
    memcpy(out + 16 * i + 8, &what, 4);
    memset(out + 16 * i + 12, 0, 4);
  }
  return n;
}

int32_t hk_reactor_wake(int32_t wake) {
  uint64_t one = 1;
  return write(wake, &one, sizeof(one)) < 0 && errno != EAGAIN ? -errno : 0;
}

int32_t hk_reactor_drain(int32_t wake) {
  uint64_t count;
  return read(wake, &count, sizeof(count)) < 0 && errno != EAGAIN ? -errno : 0;
}

int32_t hk_set_nonblock(int32_t fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
  return 0;
}

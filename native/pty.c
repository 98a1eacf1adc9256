/*
 * Parent side only: the sandbox's own pseudo-terminal. The Deno process
 * opens a pty pair, hands the slave to the command as stdio (the command
 * makes it its controlling terminal), puts the caller's terminal in raw mode
 * and relays bytes between the caller's terminal and the master. Nothing
 * the command does to its terminal can reach the caller's: TIOCSTI lands in
 * our pty, and job control happens in the sandbox's own session.
 *
 * None of this runs after clone; these functions may use anything. hk_send_fd hands a master to an OCI runtime's
 * caller instead (--console-socket), which relays it itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "hakoniwa.h"

int32_t hk_pty_open(int32_t *fds) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return -errno;
  char name[128];
  int err = 0;
  if (grantpt(master) < 0 || unlockpt(master) < 0) err = errno;
  else if ((err = ptsname_r(master, name, sizeof(name))) != 0) {
  } else {
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave >= 0) {
      fds[0] = master, fds[1] = slave;
      return 0;
    }
    err = errno;
  }
  close(master);
  return -err;
}

int32_t hk_tty_size(void) { return (int32_t)sizeof(struct termios); }

int32_t hk_tty_get(int32_t fd, uint8_t *mode, size_t len) {
  struct termios t;
  if (len < sizeof(t)) return -EINVAL;
  if (tcgetattr(fd, &t) < 0) return -errno;
  memcpy(mode, &t, sizeof(t));
  return 0;
}

int32_t hk_tty_set(int32_t fd, const uint8_t *mode, size_t len) {
  struct termios t;
  if (len < sizeof(t)) return -EINVAL;
  memcpy(&t, mode, sizeof(t));
  while (tcsetattr(fd, TCSADRAIN, &t) < 0)
    if (errno != EINTR) return -errno;
  return 0;
}

int32_t hk_tty_raw(int32_t fd) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return -errno;
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1, t.c_cc[VTIME] = 0;
  while (tcsetattr(fd, TCSADRAIN, &t) < 0)
    if (errno != EINTR) return -errno;
  return 0;
}

int32_t hk_tty_winsize(int32_t from, int32_t to, uint16_t *rows_cols) {
  struct winsize ws;
  if (ioctl(from, TIOCGWINSZ, &ws) < 0) return -errno;
  if (to >= 0 && ioctl(to, TIOCSWINSZ, &ws) < 0) return -errno;
  if (rows_cols) rows_cols[0] = ws.ws_row, rows_cols[1] = ws.ws_col;
  return 0;
}

/* Writes everything, waiting when fd is nonblocking; -errno when fd is gone. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w, n -= (size_t)w;
    } else if (w < 0 && errno == EAGAIN) {
      struct pollfd q = {.fd = fd, .events = POLLOUT};
      poll(&q, 1, -1);
    } else if (w < 0 && errno != EINTR) {
      return -errno;
    }
  }
  return 0;
}

/*
 * Relays in -> master and master -> out until every slave fd is closed
 * (the master reads EIO) or stop_fd becomes readable, then copies what the
 * master still holds. in < 0: no input. Input is written without blocking,
 * so a command that stops reading never stalls its output. Runs on a
 * worker thread; returns 0, or -errno when poll fails.
 */
int32_t hk_pty_relay(int32_t in, int32_t out, int32_t master, int32_t stop_fd) {
  int flags = fcntl(master, F_GETFL);
  if (flags < 0 || fcntl(master, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
  char buf[16384], pending[4096];
  size_t pending_len = 0, pending_off = 0;
  int out_ok = 1;
  for (;;) {
    struct pollfd p[3] = {
        {.fd = master, .events = POLLIN | (pending_len ? POLLOUT : 0)},
        {.fd = in >= 0 && !pending_len ? in : -1, .events = POLLIN},
        {.fd = stop_fd, .events = POLLIN},
    };
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, buf, sizeof(buf));
      if (n > 0 && out_ok) out_ok = write_all(out, buf, (size_t)n) == 0;
      else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return 0; /* EIO: no slave left */
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(in, pending, sizeof(pending));
      if (n > 0) pending_len = (size_t)n, pending_off = 0;
      else if (n == 0 || (errno != EAGAIN && errno != EINTR)) in = -1; /* the caller's terminal is gone */
    }
    if (pending_len) {
      ssize_t w = write(master, pending + pending_off, pending_len - pending_off);
      if (w > 0) pending_off += (size_t)w;
      else if (w < 0 && errno != EAGAIN && errno != EINTR) pending_off = pending_len; /* dropped: no reader */
      if (pending_off == pending_len) pending_len = pending_off = 0;
    }
    if (p[2].revents) {
      ssize_t n;
      while ((n = read(master, buf, sizeof(buf))) > 0 && out_ok) out_ok = write_all(out, buf, (size_t)n) == 0;
      return 0;
    }
  }
}

int32_t hk_send_fd(const char *path, int32_t fd) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(addr.sun_path)) return -ENAMETOOLONG;
  memcpy(addr.sun_path, path, strlen(path));
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return -errno;
  /* runc sends the name of the terminal as the message and the master as its one right. */
  char name[] = "/dev/ptmx";
  struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof(control));
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                       .msg_controllen = sizeof(control.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  int rc = 0;
  if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) rc = -errno;
  else
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
      if (errno != EINTR) {
        rc = -errno;
        break;
      }
  close(sock);
  return rc;
}

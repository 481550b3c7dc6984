/* The baseline for the TCP echo: a bare single-threaded epoll loop in C
   that speaks the tutorial's protocol ("Eco: <line>\n" for each line), with
   nothing else: no limits, no timers, no logs. Level-triggered; per read,
   every whole line is answered in one write(2); a partial line waits in the
   connection's buffer. Usage: tcp_echo_loop PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kMaxFds = 65536, kLine = 4096 };

struct conn {
  char in[kLine];
  size_t have;
};

static struct conn* conns[kMaxFds];
static char out[kLine * 16 * 2];

static void drop(int ep, int fd) {
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  free(conns[fd]);
  conns[fd] = NULL;
}

static void serve(int ep, int fd) {
  struct conn* c = conns[fd];
  ssize_t n = read(fd, c->in + c->have, sizeof c->in - c->have);
  if (n <= 0) {
    if (n < 0 && errno == EAGAIN) return;
    drop(ep, fd);
    return;
  }
  c->have += (size_t)n;
  size_t used = 0, put = 0;
  for (;;) {
    char* nl = memchr(c->in + used, '\n', c->have - used);
    if (!nl) break;
    size_t len = (size_t)(nl - (c->in + used)) + 1;
    if (put + 5 + len > sizeof out) break;
    memcpy(out + put, "Eco: ", 5);
    memcpy(out + put + 5, c->in + used, len);
    put += 5 + len;
    used += len;
  }
  memmove(c->in, c->in + used, c->have - used);
  c->have -= used;
  if (c->have == sizeof c->in) c->have = 0; /* an over-long line: dropped */
  if (put > 0 && write(fd, out, put) < 0) drop(ep, fd);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, 1024) != 0) return perror("listen"), 1;
  printf("listening: echo tcp 127.0.0.1:%s\n", argv[1]);
  fflush(stdout);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd != lfd) {
        serve(ep, fd);
        continue;
      }
      int cfd;
      while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        if (cfd >= kMaxFds) {
          close(cfd);
          continue;
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[cfd] = calloc(1, sizeof(struct conn));
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
        epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
      }
    }
  }
}

/* The baseline for UDP: the tutorial's UDP server in C, one recvfrom(2) and
   one sendto(2) per datagram. Usage: udp_echo_loop PORT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) return perror("bind"), 1;
  printf("listening: udp-echo udp 127.0.0.1:%s\n", argv[1]);
  fflush(stdout);
  static char in[65536], out[65536 + 16];
  for (;;) {
    struct sockaddr_storage from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr*)&from, &len);
    if (n < 0) continue;
    memcpy(out, "Eco UDP: ", 9);
    memcpy(out + 9, in, (size_t)n);
    sendto(fd, out, (size_t)n + 9, 0, (struct sockaddr*)&from, len);
  }
}

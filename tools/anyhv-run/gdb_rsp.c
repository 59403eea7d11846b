/* gdb_rsp.c - the GDB remote serial protocol's packet layer: "$payload#cc" framing
 * with a modulo-256 checksum, '+'/'-' acknowledgements (until QStartNoAckMode), the
 * '}' escape for binary data, the ^C interrupt byte, and a loopback TCP socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdb.h"

#define RSP_START '$'
#define RSP_END '#'
#define RSP_ESCAPE '}'
#define RSP_ESCAPE_XOR 0x20
#define RSP_INTERRUPT 0x03
#define RSP_ACK '+'
#define RSP_NACK '-'
#define RSP_RETRIES 4

bool gdb_listen(struct gdb_conn *c, unsigned port)
{
    c->fd = -1;
    c->no_ack = false;
    c->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->listen_fd < 0)
        return false;
    int one = 1;
    setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(c->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(c->listen_fd, 1) < 0) {
        int e = errno;
        close(c->listen_fd);
        c->listen_fd = -1;
        errno = e;
        return false;
    }
    return true;
}

bool gdb_accept(struct gdb_conn *c)
{
    do
        c->fd = accept(c->listen_fd, NULL, NULL);
    while (c->fd < 0 && errno == EINTR);
    if (c->fd < 0)
        return false;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->no_ack = false;
    return true;
}

void gdb_close(struct gdb_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    c->fd = c->listen_fd = -1;
}

static int read_byte(struct gdb_conn *c)
{
    uint8_t b;
    ssize_t n;
    do
        n = read(c->fd, &b, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? b : -1;
}

static bool write_all(struct gdb_conn *c, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(c->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static int hex_digit(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The rest of a packet after '$': payload (unescaped) and checksum. 1 when it checks
 * out, 0 when the checksum is wrong or it does not fit, -1 when gdb has gone. */
static int read_body(struct gdb_conn *c, char *buf, size_t size, size_t *len)
{
    uint8_t sum = 0;
    size_t n = 0;
    bool fits = true;
    for (;;) {
        int ch = read_byte(c);
        if (ch < 0)
            return -1;
        if (ch == RSP_END)
            break;
        sum = (uint8_t)(sum + ch);
        if (ch == RSP_ESCAPE) {
            int nx = read_byte(c);
            if (nx < 0)
                return -1;
            sum = (uint8_t)(sum + nx);
            ch = nx ^ RSP_ESCAPE_XOR;
        }
        if (n + 1 < size)
            buf[n++] = (char)ch;
        else
            fits = false;
    }
    int h = read_byte(c), l = h < 0 ? -1 : read_byte(c);
    if (l < 0)
        return -1;
    buf[n] = 0;
    *len = n;
    return fits && hex_digit(h) >= 0 && hex_digit(l) >= 0 && ((hex_digit(h) << 4) | hex_digit(l)) == sum;
}

int gdb_recv(struct gdb_conn *c, char *buf, size_t size)
{
    for (;;) {
        int ch = read_byte(c);
        if (ch < 0)
            return -1;
        if (ch == RSP_INTERRUPT) {
            buf[0] = RSP_INTERRUPT;
            buf[1] = 0;
            return 0;
        }
        if (ch != RSP_START)
            continue;   /* acknowledgements and noise between packets */
        size_t len = 0;
        int ok = read_body(c, buf, size, &len);
        if (ok < 0)
            return -1;
        if (!c->no_ack && !write_all(c, ok ? "+" : "-", 1))
            return -1;
        if (ok)
            return (int)len;
    }
}

bool gdb_send(struct gdb_conn *c, const char *payload)
{
    static char frame[2 * GDB_PACKET_MAX + 8];
    size_t n = 0;
    uint8_t sum = 0;
    frame[n++] = RSP_START;
    for (const char *p = payload; *p && n < sizeof(frame) - 4; p++) {
        char ch = *p;
        if (ch == RSP_START || ch == RSP_END || ch == RSP_ESCAPE || ch == '*') {
            frame[n++] = RSP_ESCAPE;
            sum = (uint8_t)(sum + RSP_ESCAPE);
            ch ^= RSP_ESCAPE_XOR;
        }
        frame[n++] = ch;
        sum = (uint8_t)(sum + (uint8_t)ch);
    }
    static const char hex[] = "0123456789abcdef";
    frame[n++] = RSP_END;
    frame[n++] = hex[sum >> 4];
    frame[n++] = hex[sum & 0xf];
    for (int tries = 0; tries < RSP_RETRIES; tries++) {
        if (!write_all(c, frame, n))
            return false;
        if (c->no_ack)
            return true;
        int ack = read_byte(c);
        if (ack == RSP_ACK)
            return true;
        if (ack != RSP_NACK)
            return false;
    }
    return false;
}

bool gdb_readable(struct gdb_conn *c, int timeout_ms)
{
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    return c->fd >= 0 && poll(&p, 1, timeout_ms) > 0;
}

bool gdb_take_interrupt(struct gdb_conn *c)
{
    uint8_t b;
    if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 1 || b != RSP_INTERRUPT)
        return false;
    return read_byte(c) == RSP_INTERRUPT;
}

void gdb_hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0xf];
    }
    out[2 * n] = 0;
}

bool gdb_hex_decode(uint8_t *out, const char *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int h = hex_digit(in[2 * i]), l = h < 0 ? -1 : hex_digit(in[2 * i + 1]);
        if (l < 0)
            return false;
        out[i] = (uint8_t)((h << 4) | l);
    }
    return true;
}

bool gdb_parse_hex(const char **p, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;
    int d;
    while ((d = hex_digit(*s)) >= 0) {
        v = (v << 4) | (uint64_t)d;
        s++;
    }
    if (s == *p)
        return false;
    *p = s;
    *out = v;
    return true;
}

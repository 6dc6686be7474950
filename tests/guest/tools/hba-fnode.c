/*
 * hba-fnode: log in to or out of an iSCSI flash node through the kernel's
 * iSCSI netlink interface, the request open-iscsi's iscsiadm sends for
 * "iscsiadm -m host -H HOST -C flashnode -x IDX -o login|logout".
 *
 *   hba-fnode login|logout HOST IDX [TRANSPORT]
 *
 * A stand-in for iscsiadm, labelled as such: Debian 12's iscsiadm refuses
 * a transport missing from its compiled-in template list before it sends
 * anything (see guest/linux/README.md).  TRANSPORT defaults to iscsi-hba.
 * Exit status 0 when the kernel answers iferror 0, else 1 (2: usage or a
 * netlink error); the answer is printed.
 *
 * The message layout is struct iscsi_uevent of include/scsi/iscsi_if.h
 * (kernel-internal, not in the uapi headers): type, iferror,
 * transport_handle, then the u.login_flashnode / u.logout_flashnode pair
 * (host_no, flashnode_idx).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netlink.h>

#define ISCSI_UEVENT_BASE           10
#define ISCSI_UEVENT_LOGIN_FLASHNODE  (ISCSI_UEVENT_BASE + 28)
#define ISCSI_UEVENT_LOGOUT_FLASHNODE (ISCSI_UEVENT_BASE + 29)
#define ISCSI_KEVENT_IF_ERROR       103     /* the answer to a failed request */
#define PAYLOAD 1024    /* more than sizeof(struct iscsi_uevent) */

struct fnode_msg {
    uint32_t type;
    uint32_t iferror;
    uint64_t transport_handle;
    uint32_t host_no;
    uint32_t flashnode_idx;
};

static int read_handle(const char *transport, uint64_t *handle)
{
    char path[256];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "/sys/class/iscsi_transport/%s/handle",
             transport);
    f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    ok = fscanf(f, "%llu", (unsigned long long *)handle) == 1;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "%s: no handle\n", path);
    }
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    static char buf[NLMSG_SPACE(PAYLOAD)];
    struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    struct timeval tmo = { .tv_sec = 60 };
    struct fnode_msg *ev = NLMSG_DATA(nlh);
    uint64_t handle;
    ssize_t n;
    int fd, type;

    if (argc < 4 || (strcmp(argv[1], "login") && strcmp(argv[1], "logout"))) {
        fprintf(stderr, "usage: hba-fnode login|logout HOST IDX [TRANSPORT]\n");
        return 2;
    }
    if (read_handle(argc > 4 ? argv[4] : "iscsi-hba", &handle)) {
        return 2;
    }
    type = strcmp(argv[1], "login") ? ISCSI_UEVENT_LOGOUT_FLASHNODE :
                                      ISCSI_UEVENT_LOGIN_FLASHNODE;
    fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ISCSI);
    if (fd < 0) {
        perror("socket(NETLINK_ISCSI)");
        return 2;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
    memset(buf, 0, sizeof(buf));
    nlh->nlmsg_len = NLMSG_LENGTH(PAYLOAD);
    nlh->nlmsg_type = type;
    nlh->nlmsg_pid = getpid();
    ev->type = type;
    ev->transport_handle = handle;
    ev->host_no = strtoul(argv[2], NULL, 0);
    ev->flashnode_idx = strtoul(argv[3], NULL, 0);
    if (sendto(fd, buf, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel,
               sizeof(kernel)) < 0) {
        perror("sendto");
        return 2;
    }
    /*
     * The answer is the request with iferror set, or, when the request
     * failed, ISCSI_KEVENT_IF_ERROR with iferror set.
     */
    for (;;) {
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            perror("recv");
            return 2;
        }
        if (NLMSG_OK(nlh, (size_t)n) && (ev->type == (uint32_t)type ||
                                         ev->type == ISCSI_KEVENT_IF_ERROR)) {
            break;
        }
    }
    printf("%s host %u flash node %u: iferror %d (%s)\n", argv[1],
           ev->host_no, ev->flashnode_idx, (int32_t)ev->iferror,
           strerror(-(int32_t)ev->iferror));
    return ev->iferror ? 1 : 0;
}

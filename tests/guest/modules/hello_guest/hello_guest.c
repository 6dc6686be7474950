// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A module that does nothing but load and unload: tests/guest/run-all.sh
 * builds it against the fetched headers to prove the out-of-tree module
 * path (build, vermagic, initramfs, depmod, modprobe, rmmod) without
 * depending on the iscsi_hba driver.
 */
#include <linux/module.h>

static int __init hello_guest_init(void)
{
	pr_info("hello_guest: loaded\n");
	return 0;
}

static void __exit hello_guest_exit(void)
{
	pr_info("hello_guest: unloaded\n");
}

module_init(hello_guest_init);
module_exit(hello_guest_exit);
MODULE_DESCRIPTION("iscsi-hba guest harness test module");
MODULE_LICENSE("GPL");

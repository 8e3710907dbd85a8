#!/bin/sh
# famfs-lab guest init: PID 1 on the host's root, read-only over 9p.
# The run folder is shared read-write as /run/lab: setup.sh (rendered by the lab from the
# topology), SSH keys, and the results the guest reports back (devices.txt).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

say() { echo "famfs-lab: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
# The lab's checkout may live under /tmp (CI clones): keep it visible through the tmpfs.
repo=$(cd "$(dirname "$0")/../.." && pwd -P)
mkdir -p /run/repo
mount --bind "$repo" /run/repo
mount -t tmpfs tmpfs /tmp
# A writable, empty home: no host dotfiles in test sessions.
mount -t tmpfs tmpfs /root
if [ ! -e "$repo/vm-images" ]; then
	mkdir -p "$repo"
	mount --bind /run/repo "$repo"
fi
mount -t debugfs debugfs /sys/kernel/debug
mount -t fusectl fusectl /sys/fs/fuse/connections
mkdir -p /run/lab /run/sshd
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 labrun /run/lab || say "fatal: no labrun share"

# Warnings (level 4) and kmemleak notices (level 6) must reach the console watch.
echo 7 > /proc/sys/kernel/printk
echo 1 > /proc/sys/kernel/sysrq
hostname famfs-lab

. "$repo/vm-images/guest/dax.sh"
: > /run/lab/devices.txt
. /run/lab/setup.sh

/usr/sbin/sshd -r -f /run/lab/sshd_config -E /run/lab/sshd.log || say "fatal: sshd did not start"
say "ready $(cut -d' ' -f1 /proc/uptime)"

# PID 1 must outlive a sysrq power-off request (its exit would panic the kernel), and its
# heartbeat tells the host's hang watch that the guest is alive while tests are quiet.
while :; do
	sleep "${FAMFS_LAB_HEARTBEAT:-10}"
	echo "famfs-lab: heartbeat $(cut -d' ' -f1 /proc/uptime)"
done

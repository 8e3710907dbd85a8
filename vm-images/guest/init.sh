#!/bin/sh
# famfs-lab guest init: PID 1 on the host's root, read-only over 9p.
# The run folder is shared read-write as /run/lab: setup.sh (rendered by the lab from the
# topology), SSH keys, and the results the guest reports back (devices.txt).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

say() { echo "famfs-lab: $*"; }

# Every program start costs 0.1-0.3 s under TCG (read over 9p, linked, run): the mounts are
# two `mount -a` calls, sshd starts in the background while the rest of the setup runs, and
# shell builtins stand in for hostname and cut.
here=${0%/*}
mount -t proc proc /proc
mount -a -T "$here/fstab.early"
[ -e /run/lab/setup.sh ] || say "fatal: no labrun share"
/usr/sbin/sshd -r -f /run/lab/sshd_config -E /run/lab/sshd.log &
sshd=$!
# The lab's checkout may live under /tmp (CI clones): keep it visible through the tmpfs.
repo=$(cd "$here/../.." && pwd -P)
mount --bind -o X-mount.mkdir "$repo" /run/repo
mount -a -T "$here/fstab.late"
if [ ! -e "$repo/vm-images" ]; then
	mkdir -p "$repo"
	mount --bind /run/repo "$repo"
fi

# Warnings (level 4) and kmemleak notices (level 6) must reach the console watch.
echo 7 > /proc/sys/kernel/printk
echo 1 > /proc/sys/kernel/sysrq
echo famfs-lab > /proc/sys/kernel/hostname

. "$repo/vm-images/guest/dax.sh"
: > /run/lab/devices.txt
. /run/lab/setup.sh

# sshd's parent exits once it has forked the daemon (the host retries until it listens).
wait $sshd || say "fatal: sshd did not start"
read -r up _ < /proc/uptime
say "ready $up"

# PID 1 must outlive a sysrq power-off request (its exit would panic the kernel), and its
# heartbeat tells the host's hang watch that the guest is alive while tests are quiet.
while :; do
	sleep "${FAMFS_LAB_HEARTBEAT:-10}"
	read -r up _ < /proc/uptime
	say "heartbeat $up"
done

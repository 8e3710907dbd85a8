#!/bin/sh
# famfs-lab kmsg fixture capture: PID 1 of a throwaway guest (see README.md). $labcase
# (from labcase=<case> on the kernel command line) selects the scenario.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
echo 7 > /proc/sys/kernel/printk
up() { cut -d' ' -f1 /proc/uptime; }
kmsg() { echo "famfs-lab: $*" > /dev/kmsg; }
DIRECT=/sys/kernel/debug/provoke-crash/DIRECT
heartbeat() { while :; do kmsg heartbeat "$(up)"; sleep 10; done; }
kmsg ready "$(up)"
echo "init: case $labcase"
case "$labcase" in
clean)
  kmsg test-begin clean_case
  ls /sys/bus > /dev/null
  echo "user space line inside a test"
  kmsg test-end clean_case
  kmsg test-begin sysrq_backtrace
  echo l > /proc/sysrq-trigger
  sleep 1
  kmsg test-end sysrq_backtrace
  ;;
lkdtm)
  kmsg test-begin warn_case
  echo WARNING > $DIRECT
  kmsg test-end warn_case
  kmsg test-begin bug_case
  sh -c "echo BUG > $DIRECT"
  echo "bug_case: child exit $?"
  kmsg test-end bug_case
  kmsg test-begin quiet_case
  echo "quiet_case: nothing to see"
  kmsg test-end quiet_case
  kmsg test-begin oops_case
  sh -c "echo EXCEPTION > $DIRECT"
  echo "oops_case: child exit $?"
  kmsg test-end oops_case
  # Outside any test: attributed to null.
  echo WARNING_MESSAGE > $DIRECT
  ;;
hung)
  heartbeat &
  echo 3 > /proc/sys/kernel/hung_task_timeout_secs
  kmsg test-begin hung_case
  sh -c "echo HUNG_TASK > $DIRECT" &
  sleep 12
  kmsg test-end hung_case
  ;;
stall)
  heartbeat &
  kmsg test-begin stall_case
  sh -c "echo SOFTLOCKUP > $DIRECT" &
  sleep 20
  kmsg test-end stall_case
  ;;
crash)
  kmsg test-begin crash_case
  echo c > /proc/sysrq-trigger
  ;;
panic)
  kmsg test-begin panic_case
  echo PANIC > $DIRECT
  ;;
esac
echo o > /proc/sysrq-trigger
# PID 1 must outlive the asynchronous power-off, or the kernel panics ("Attempted to kill init").
while :; do sleep 1; done

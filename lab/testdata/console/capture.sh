#!/bin/sh
# Capture one console fixture (run from this folder). usage: capture.sh <case> <timeout-s> [extra append]
case=$1; t=$2; extra=$3
out=$(pwd)/$case.log
rm -f $out
start=$(date +%s.%N)
timeout $t qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 1G -nodefaults -display none -no-reboot \
  -bios /usr/share/qemu/qboot.rom -kernel ${KERNEL:-bzImage} \
  -append "console=ttyS0 root=hostroot rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose ro init=${INIT:-$(pwd)/capture-init.sh} panic=-1 labcase=$case $extra" \
  -fsdev local,id=root,path=/,security_model=none,readonly=on -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
  -chardev file,id=c,path=$out -serial chardev:c
rc=$?
end=$(date +%s.%N)
echo "case=$case rc=$rc wall=$(echo "$end - $start" | bc)s lines=$(wc -l < $out)"

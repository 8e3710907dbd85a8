# famfs-lab guest helpers: turn emulated NVDIMM and CXL memory into devdax devices.
# Sourced by init.sh; each successful device is recorded in /run/lab/devices.txt as
# "<topology id> /dev/<daxX.Y> <driver> <bytes>".

fail() { echo "famfs-lab: setup-failed $1: $2"; }

# bind_dax DAX DRIVER: move dax device DAX (e.g. dax0.0) to device_dax or fsdev_dax.
bind_dax() {
	d=/sys/bus/dax/drivers
	cur=$(basename "$(readlink -f /sys/bus/dax/devices/$1/driver)")
	[ "$cur" = "$2" ] && return 0
	[ -e /sys/bus/dax/devices/$1/driver ] && echo "$1" > "$d/$cur/unbind"
	# fsdev_dax matches no device type by itself: new_id adds the id and attaches.
	if [ "$2" = fsdev_dax ]; then
		echo "$1" > $d/fsdev_dax/new_id
	else
		echo "$1" > $d/device_dax/new_id 2>/dev/null || echo "$1" > $d/device_dax/bind
	fi
	cur=$(basename "$(readlink -f /sys/bus/dax/devices/$1/driver)")
	[ "$cur" = "$2" ]
}

record() {
	echo "$1 /dev/$2 $3 $(cat /sys/bus/dax/devices/$2/size)" >> /run/lab/devices.txt
}

# pmem_devdax ID INDEX DRIVER [MAP]: the INDEX-th NVDIMM's namespace (regions are numbered after
# any other nd bus, e.g. CXL's, so count the raw namespaces rather than trusting region names).
# MAP is where the kernel keeps the struct pages of the namespace: dev (default, on the NVDIMM
# itself) or mem (guest RAM). Media shared with another guest needs mem: on the device, every
# guest's kernel would keep its page state (refcounts, folio order, mapping) in the same bytes.
pmem_devdax() {
	ns=$(ls /sys/bus/nd/devices | grep '^namespace[0-9]*\.0$' | sort -V | sed -n "$(($2 + 1))p")
	[ -n "$ns" ] || { fail "$1" "no namespace for NVDIMM $2"; return 1; }
	out=$(ndctl create-namespace -f -e "$ns" -m devdax -M "${4:-dev}" -a 2M 2>&1) || {
		fail "$1" "ndctl create-namespace $ns: $out"
		return 1
	}
	dax=$(echo "$out" | sed -n 's/.*"chardev":"\(dax[0-9.]*\)".*/\1/p')
	bind_dax "$dax" "$3" || { fail "$1" "cannot bind $dax to $3"; return 1; }
	record "$1" "$dax" "$3"
}

# pmem_devdax_probed ID INDEX DRIVER: the INDEX-th NVDIMM's namespace as another host already
# made it devdax on the shared media: the kernel probed its info block at boot, so use that
# device (re-creating the namespace would rewrite the info block under the other host).
pmem_devdax_probed() {
	ns=$(ls /sys/bus/nd/devices | grep '^namespace[0-9]*\.0$' | sort -V | sed -n "$(($2 + 1))p")
	[ -n "$ns" ] || { fail "$1" "no namespace for NVDIMM $2"; return 1; }
	out=$(ndctl list -N -n "$ns" 2>&1)
	dax=$(echo "$out" | sed -n 's/.*"chardev":"\(dax[0-9.]*\)".*/\1/p')
	[ -n "$dax" ] || { fail "$1" "$ns is not devdax (no info block from the first host?): $out"; return 1; }
	# Its struct pages must be in this guest's RAM, not on the media the hosts share.
	holder=$(cat "/sys/bus/nd/devices/$ns/holder")
	memmap=$(cat "/sys/bus/nd/devices/$holder/mode" 2>/dev/null)
	[ "$memmap" = ram ] || {
		fail "$1" "$ns keeps its struct pages on the shared media (mode ${memmap:-unknown}; the first host needs -M mem)"
		return 1
	}
	bind_dax "$dax" "$3" || { fail "$1" "cannot bind $dax to $3"; return 1; }
	record "$1" "$dax" "$3"
}

# cxl_mem_by_serial SERIAL: the memN whose serial number is SERIAL.
cxl_mem_by_serial() {
	for m in /sys/bus/cxl/devices/mem*; do
		[ "$(cat "$m/serial")" = "$(printf '0x%x' "$1")" ] && basename "$m"
	done
}

# cxl_endpoint_decoder MEM: the first decoder of the endpoint port whose upstream is MEM.
cxl_endpoint_decoder() {
	for e in /sys/bus/cxl/devices/endpoint*; do
		[ "$(basename "$(readlink -f "$e/uport")")" = "$1" ] || continue
		for dec in "$e"/decoder*.0; do basename "$dec"; return 0; done
	done
	return 1
}

# cxl_region ID ROOT_DECODER GRANULARITY BYTES DRIVER SERIAL...
# ndctl 76.1's `cxl create-region` cannot make RAM regions on 7.3, so use sysfs directly.
cxl_region() {
	id=$1 root=$2 gran=$3 bytes=$4 driver=$5
	shift 5
	c=/sys/bus/cxl/devices
	ways=$#
	[ -e "$c/$root" ] || { fail "$id" "no root decoder $root (is CXL enumerated? qboot hides it)"; return 1; }
	r=$(cat "$c/$root/create_ram_region") && echo "$r" > "$c/$root/create_ram_region" ||
		{ fail "$id" "create_ram_region on $root"; return 1; }
	echo "$gran" > "$c/$r/interleave_granularity" &&
		echo "$ways" > "$c/$r/interleave_ways" &&
		echo "$bytes" > "$c/$r/size" || { fail "$id" "cannot size $r"; return 1; }
	pos=0
	for sn in "$@"; do
		mem=$(cxl_mem_by_serial "$sn")
		dec=$(cxl_endpoint_decoder "$mem") || { fail "$id" "no endpoint decoder for serial $sn"; return 1; }
		echo ram > "$c/$dec/mode" &&
			echo $((bytes / ways)) > "$c/$dec/dpa_size" &&
			echo "$dec" > "$c/$r/target$pos" || { fail "$id" "cannot program $dec"; return 1; }
		pos=$((pos + 1))
	done
	echo 1 > "$c/$r/commit" || { fail "$id" "commit $r"; return 1; }
	[ -e "$c/$r/driver" ] || echo "$r" > /sys/bus/cxl/drivers/cxl_region/bind
	dax=$(basename "$(ls -d "$c/$r"/dax_region*/dax*.* 2>/dev/null | head -n1)")
	[ -n "$dax" ] || { fail "$id" "region $r has no dax device"; return 1; }
	bind_dax "$dax" "$driver" || { fail "$id" "cannot bind $dax to $driver"; return 1; }
	record "$id" "$dax" "$driver"
}

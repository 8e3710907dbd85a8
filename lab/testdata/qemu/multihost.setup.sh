# famfs-lab guest setup for topology "multihost" host 1 of 2 (generated).
pmem_devdax pmem0 0 device_dax mem

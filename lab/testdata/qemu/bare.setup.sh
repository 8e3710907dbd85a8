# famfs-lab guest setup for topology "bare" (generated).

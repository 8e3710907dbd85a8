/*
 * famfs-lab benchmark reference: a minimal libfuse3 low-level server with the
 * same namespace shape as the TypeScript daemon's bench image: files f0..fN-1
 * (FSIZE bytes each) and "big" (BIGSIZE bytes), all read from an mmap of an
 * image file. Entry/attr timeouts come from the command line so both servers
 * are measured under the same caching. It mounts with the daemon's options
 * (default_permissions, allow_other) and opens files without FLUSH on close
 * (FOPEN_NOFLUSH, as the daemon does), so the kernel sends both servers the
 * same requests for the same workload.
 *
 * usage: cref <image> <mountpoint> <nfiles> <fsize> <bigsize> <timeout_s> [threads]
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long nfiles;
static off_t fsize, bigsize;
static double tmo;
static char *img;
static size_t imglen;

#define UNIT (2UL << 20)
#define BIG_INO 2
#define FILE_INO0 16

static int attr_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (ino == BIG_INO) {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = bigsize;
	} else if (ino >= FILE_INO0 && ino < FILE_INO0 + nfiles) {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = fsize;
	} else {
		return -1;
	}
	st->st_blksize = 4096;
	return 0;
}

/* Data offset in the image: big file first, then one 2 MiB unit per small file. */
static size_t data_off(fuse_ino_t ino)
{
	return ino == BIG_INO ? UNIT : UNIT + ((bigsize + UNIT - 1) / UNIT) * UNIT + (ino - FILE_INO0) * UNIT;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	fuse_ino_t ino = 0;
	memset(&e, 0, sizeof(e));
	if (parent == FUSE_ROOT_ID) {
		if (strcmp(name, "big") == 0)
			ino = BIG_INO;
		else if (name[0] == 'f') {
			char *end;
			unsigned long i = strtoul(name + 1, &end, 10);
			if (*end == 0 && end != name + 1 && i < nfiles)
				ino = FILE_INO0 + i;
		}
	}
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.ino = ino;
	e.attr_timeout = tmo;
	e.entry_timeout = tmo;
	attr_of(ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	if (attr_of(ino, &st) < 0)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, tmo);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino == FUSE_ROOT_ID)
		fuse_reply_err(req, EISDIR);
	else {
		fi->noflush = 1;
		fuse_reply_open(req, fi);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	off_t len = ino == BIG_INO ? bigsize : fsize;
	(void)fi;
	if (off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if ((off_t)size > len - off)
		size = len - off;
	fuse_reply_buf(req, img + data_off(ino) + off, size);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = op_lookup,
	.getattr = op_getattr,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.flush = op_flush,
};

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: %s <image> <mnt> <nfiles> <fsize> <bigsize> <timeout_s> [threads]\n", argv[0]);
		return 2;
	}
	nfiles = strtoul(argv[3], NULL, 0);
	fsize = strtoll(argv[4], NULL, 0);
	bigsize = strtoll(argv[5], NULL, 0);
	tmo = atof(argv[6]);
	int threads = argc > 7 ? atoi(argv[7]) : 4;
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[1]);
		return 1;
	}
	imglen = st.st_size;
	img = mmap(NULL, imglen, PROT_READ, MAP_SHARED, fd, 0);
	if (img == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	char *fargv[] = { argv[0], "-o", "default_permissions,allow_other", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se || fuse_set_signal_handlers(se) || fuse_session_mount(se, argv[2])) {
		fprintf(stderr, "cref: cannot mount %s\n", argv[2]);
		return 1;
	}
	printf("cref: ready %s\n", argv[2]);
	fflush(stdout);
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(cfg, threads);
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	int ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return ret ? 1 : 0;
}

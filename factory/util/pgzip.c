#include "pgzip.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define DICT_SIZE 32768

enum slot_state { SLOT_FREE, SLOT_READY, SLOT_BUSY, SLOT_DONE };

struct slot {
	enum slot_state state;
	unsigned char *in;
	size_t in_len;
	unsigned char dict[DICT_SIZE];
	size_t dict_len;
	unsigned char *out;
	size_t out_len;
	uLong crc;
	bool last;
	bool failed;
};

struct pgzip {
	int level;
	pgzip_sink sink;
	void *ctx;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *threads;
	int thread_count;
	bool stop;
	struct slot *slots;
	size_t slot_count;
	unsigned long long filling; /* sequence number of the block being filled */
	unsigned long long written; /* next block to hand to the sink */
	uLong crc;
	unsigned long long total;
	bool header_written;
};

/* JARs, wheels and other archives are already compressed: deflating them again costs a lot
 * of time for a percent or two. A quick level-1 probe of the block's start decides, from the
 * bytes alone (so the output stays reproducible), whether the block is stored instead. */
static int block_level(const struct slot *s, int level)
{
	unsigned char probe_out[PGZIP_PROBE + PGZIP_PROBE / 8 + 64];
	size_t n = s->in_len < PGZIP_PROBE ? s->in_len : PGZIP_PROBE;
	z_stream zs;
	size_t produced;

	if (n < 1024)
		return level;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return level;
	zs.next_in = s->in;
	zs.avail_in = (uInt)n;
	zs.next_out = probe_out;
	zs.avail_out = sizeof(probe_out);
	deflate(&zs, Z_FINISH);
	produced = sizeof(probe_out) - zs.avail_out;
	deflateEnd(&zs);
	if (produced * 100 >= n * PGZIP_STORE_PERCENT)
		return 0;
	/* Mostly compressed already (a zip with a few stored entries): level 1 gets nearly all
	 * there is to get, several times faster. */
	return produced * 100 >= n * PGZIP_FAST_PERCENT ? 1 : level;
}

static void compress_slot(struct pgzip *z, struct slot *s)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	s->crc = crc32(0L, s->in, (uInt)s->in_len);
	if (deflateInit2(&zs, block_level(s, z->level), Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		s->failed = true;
		return;
	}
	if (s->dict_len)
		deflateSetDictionary(&zs, s->dict, (uInt)s->dict_len);
	zs.next_in = s->in;
	zs.avail_in = (uInt)s->in_len;
	zs.next_out = s->out;
	zs.avail_out = PGZIP_BLOCK + PGZIP_BLOCK / 8 + 1024;
	/* A sync flush ends the block on a byte boundary so the next block's bytes can follow. */
	if (deflate(&zs, s->last ? Z_FINISH : Z_SYNC_FLUSH) == Z_STREAM_ERROR || zs.avail_in != 0 || zs.avail_out == 0)
		s->failed = true;
	s->out_len = (size_t)(zs.next_out - s->out);
	deflateEnd(&zs);
}

static void *worker(void *arg)
{
	struct pgzip *z = arg;

	pthread_mutex_lock(&z->mu);
	for (;;) {
		struct slot *job = NULL;
		for (size_t i = 0; i < z->slot_count && !job; i++)
			if (z->slots[i].state == SLOT_READY)
				job = &z->slots[i];
		if (!job) {
			if (z->stop)
				break;
			pthread_cond_wait(&z->cv, &z->mu);
			continue;
		}
		job->state = SLOT_BUSY;
		pthread_mutex_unlock(&z->mu);
		compress_slot(z, job);
		pthread_mutex_lock(&z->mu);
		job->state = SLOT_DONE;
		pthread_cond_broadcast(&z->cv);
	}
	pthread_mutex_unlock(&z->mu);
	return NULL;
}

int pgzip_new(struct pgzip **out, int level, int threads, pgzip_sink sink, void *ctx, struct error *err)
{
	struct pgzip *z = calloc(1, sizeof(*z));

	*out = NULL;
	if (!z)
		abort();
	if (threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n < 1 ? 1 : n > 8 ? 8 : (int)n;
	}
	z->level = level;
	z->sink = sink;
	z->ctx = ctx;
	z->slot_count = (size_t)threads * 2 + 1;
	z->slots = calloc(z->slot_count, sizeof(*z->slots));
	z->threads = calloc((size_t)threads, sizeof(*z->threads));
	if (!z->slots || !z->threads)
		abort();
	for (size_t i = 0; i < z->slot_count; i++) {
		z->slots[i].in = malloc(PGZIP_BLOCK);
		z->slots[i].out = malloc(PGZIP_BLOCK + PGZIP_BLOCK / 8 + 1024);
		if (!z->slots[i].in || !z->slots[i].out)
			abort();
	}
	pthread_mutex_init(&z->mu, NULL);
	pthread_cond_init(&z->cv, NULL);
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&z->threads[i], NULL, worker, z) != 0) {
			z->thread_count = i;
			pgzip_free(z);
			return error_set(err, ERROR_INTERNAL, "cannot start compression threads");
		}
		z->thread_count = i + 1;
	}
	z->crc = crc32(0L, Z_NULL, 0);
	*out = z;
	return 0; /* slot 0 starts empty and FREE: ready to be filled */
}

static int open_slot(struct pgzip *z, struct error *err);

static void put_le32(unsigned long v, unsigned char *b)
{
	b[0] = (unsigned char)(v & 0xff);
	b[1] = (unsigned char)((v >> 8) & 0xff);
	b[2] = (unsigned char)((v >> 16) & 0xff);
	b[3] = (unsigned char)((v >> 24) & 0xff);
}

/* Hands finished blocks to the sink in order, up to (not including) block `until`. */
static int drain(struct pgzip *z, unsigned long long until, struct error *err)
{
	static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};

	if (!z->header_written) {
		if (z->sink(z->ctx, header, sizeof(header), err) < 0)
			return -1;
		z->header_written = true;
	}
	while (z->written < until) {
		struct slot *s = &z->slots[z->written % z->slot_count];
		pthread_mutex_lock(&z->mu);
		while (s->state != SLOT_DONE)
			pthread_cond_wait(&z->cv, &z->mu);
		pthread_mutex_unlock(&z->mu);
		if (s->failed)
			return error_set(err, ERROR_INTERNAL, "deflate failed");
		if (z->sink(z->ctx, s->out, s->out_len, err) < 0)
			return -1;
		z->crc = crc32_combine(z->crc, s->crc, (z_off_t)s->in_len);
		z->total += s->in_len;
		pthread_mutex_lock(&z->mu);
		s->state = SLOT_FREE;
		pthread_mutex_unlock(&z->mu);
		z->written++;
	}
	return 0;
}

static void submit(struct pgzip *z, bool last)
{
	struct slot *s = &z->slots[z->filling % z->slot_count];

	s->last = last;
	pthread_mutex_lock(&z->mu);
	s->state = SLOT_READY;
	pthread_cond_broadcast(&z->cv);
	pthread_mutex_unlock(&z->mu);
	z->filling++;
}

/* Makes the slot for the block being filled available, priming its dictionary. */
static int open_slot(struct pgzip *z, struct error *err)
{
	struct slot *s = &z->slots[z->filling % z->slot_count];

	if (z->filling >= z->slot_count && drain(z, z->filling - z->slot_count + 1, err) < 0)
		return -1;
	s->in_len = 0;
	s->out_len = 0;
	s->failed = false;
	s->dict_len = 0;
	if (z->filling > 0) {
		const struct slot *prev = &z->slots[(z->filling - 1) % z->slot_count];
		s->dict_len = prev->in_len < DICT_SIZE ? prev->in_len : DICT_SIZE;
		memcpy(s->dict, prev->in + prev->in_len - s->dict_len, s->dict_len);
	}
	return 0;
}

int pgzip_write(struct pgzip *z, const void *data, size_t size, struct error *err)
{
	const unsigned char *p = data;

	while (size > 0) {
		struct slot *s = &z->slots[z->filling % z->slot_count];
		size_t room = PGZIP_BLOCK - s->in_len, n = size < room ? size : room;
		memcpy(s->in + s->in_len, p, n);
		s->in_len += n;
		p += n;
		size -= n;
		if (s->in_len == PGZIP_BLOCK) {
			submit(z, false);
			if (open_slot(z, err) < 0)
				return -1;
		}
	}
	return 0;
}

int pgzip_finish(struct pgzip *z, struct error *err)
{
	unsigned char trailer[8];

	submit(z, true);
	if (drain(z, z->filling, err) < 0)
		return -1;
	put_le32(z->crc, trailer);
	put_le32((unsigned long)(z->total & 0xffffffffULL), trailer + 4);
	return z->sink(z->ctx, trailer, sizeof(trailer), err);
}

void pgzip_free(struct pgzip *z)
{
	if (!z)
		return;
	pthread_mutex_lock(&z->mu);
	z->stop = true;
	pthread_cond_broadcast(&z->cv);
	pthread_mutex_unlock(&z->mu);
	for (int i = 0; i < z->thread_count; i++)
		pthread_join(z->threads[i], NULL);
	for (size_t i = 0; i < z->slot_count; i++) {
		free(z->slots[i].in);
		free(z->slots[i].out);
	}
	free(z->slots);
	free(z->threads);
	pthread_mutex_destroy(&z->mu);
	pthread_cond_destroy(&z->cv);
	free(z);
}

#include "statrec.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

#define STATREC_HEADER "factory-statrec 1\n"
#define STATREC_MAX_FILE (256u << 20)
/* A change within this long of the last one may leave mtime and ctime as they were on a
 * filesystem with coarse timestamps (one second on some; a kernel tick on ext4/xfs). */
#define RACY_MARGIN_NS 1000000000LL

enum { REC_LOADED, REC_PUT, REC_FORGOTTEN };

struct rec {
	char *key;
	unsigned long long dev, ino;
	long long size, mtime_ns, ctime_ns;
	char sha256[65];
	int state;
};

struct statrec {
	pthread_mutex_t lock; /* downloads and layer writers record from several threads */
	char *path;
	struct rec *recs; /* sorted by key */
	size_t count, cap;
	bool loaded, dirty;
};

static long long ns_of(struct timespec t)
{
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void fill_stat(struct rec *r, const struct stat *st)
{
	r->dev = (unsigned long long)st->st_dev;
	r->ino = (unsigned long long)st->st_ino;
	r->size = (long long)st->st_size;
	r->mtime_ns = ns_of(st->st_mtim);
	r->ctime_ns = ns_of(st->st_ctim);
}

static bool same_stat(const struct rec *r, const struct stat *st)
{
	struct rec now;

	fill_stat(&now, st);
	return r->dev == now.dev && r->ino == now.ino && r->size == now.size && r->mtime_ns == now.mtime_ns &&
	       r->ctime_ns == now.ctime_ns;
}

/* Keys are paths: anything that could break a line or a field is %XX-escaped. */
static void escape_key(struct strbuf *t, const char *key)
{
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		char hex[4];
		if (*p <= 0x20 || *p == 0x7f || *p == '%') {
			snprintf(hex, sizeof(hex), "%%%02X", *p);
			strbuf_add(t, hex, 3);
		} else {
			strbuf_add(t, (const char *)p, 1);
		}
	}
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static char *unescape_key(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;

	if (!out)
		abort();
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0 ||
		    hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]) == 0) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
		i += 2;
	}
	*o = '\0';
	return out;
}

static int compare_recs(const void *a, const void *b)
{
	return strcmp(((const struct rec *)a)->key, ((const struct rec *)b)->key);
}

/* The index of `key`, or where it would be inserted (with *found false). */
static size_t find(const struct statrec *s, const char *key, bool *found)
{
	size_t lo = 0, hi = s->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->recs[mid].key, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct rec *insert(struct statrec *s, const char *key)
{
	bool found;
	size_t at = find(s, key, &found);

	if (found)
		return &s->recs[at];
	if (s->count == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->recs = realloc(s->recs, s->cap * sizeof(*s->recs));
		if (!s->recs)
			abort();
	}
	memmove(&s->recs[at + 1], &s->recs[at], (s->count - at) * sizeof(*s->recs));
	s->count++;
	memset(&s->recs[at], 0, sizeof(s->recs[at]));
	s->recs[at].key = xstrdup(key);
	return &s->recs[at];
}

/* Malformed lines are skipped: a damaged file costs re-hashing, nothing else. */
static void parse(struct statrec *s, const char *text, size_t size)
{
	const char *p = text, *end = text + size;
	size_t header = strlen(STATREC_HEADER);

	if (size < header || memcmp(text, STATREC_HEADER, header) != 0)
		return;
	for (p += header; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct rec r = {0};
		int used = 0;
		char *key;

		if (!nl)
			break;
		if (sscanf(p, "%64[0-9a-f] %llu %llu %lld %lld %lld %n", r.sha256, &r.dev, &r.ino, &r.size, &r.mtime_ns,
			   &r.ctime_ns, &used) == 6 && strlen(r.sha256) == 64 && used > 0 && p + used < nl &&
		    (key = unescape_key(p + used, (size_t)(nl - p - used))) != NULL) {
			struct rec *slot;
			if (s->count == s->cap) {
				s->cap = s->cap ? s->cap * 2 : 64;
				s->recs = realloc(s->recs, s->cap * sizeof(*s->recs));
				if (!s->recs)
					abort();
			}
			slot = &s->recs[s->count++];
			*slot = r;
			slot->key = key;
			slot->state = REC_LOADED;
		}
		p = nl + 1;
	}
	qsort(s->recs, s->count, sizeof(*s->recs), compare_recs);
}

static void read_records(struct statrec *s)
{
	struct error ignored = {0};
	char *text = NULL;
	size_t size = 0;

	if (fs_read_file(s->path, STATREC_MAX_FILE, &text, &size, &ignored) == 0)
		parse(s, text, size);
	free(text);
}

static void load(struct statrec *s)
{
	if (!s->loaded) {
		s->loaded = true;
		read_records(s);
	}
}

struct statrec *statrec_open(const char *path)
{
	struct statrec *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	pthread_mutex_init(&s->lock, NULL);
	s->path = xstrdup(path);
	return s;
}

bool statrec_lookup(struct statrec *s, const char *key, const struct stat *st, char sha256[65])
{
	bool found, hit;
	size_t at;

	pthread_mutex_lock(&s->lock);
	load(s);
	at = find(s, key, &found);
	hit = found && s->recs[at].state != REC_FORGOTTEN && same_stat(&s->recs[at], st);
	if (hit)
		memcpy(sha256, s->recs[at].sha256, 65);
	pthread_mutex_unlock(&s->lock);
	return hit;
}

void statrec_put(struct statrec *s, const char *key, const struct stat *st, const char *sha256, bool fresh)
{
	struct timespec now;
	struct rec *r;
	long long newest = ns_of(st->st_mtim) > ns_of(st->st_ctim) ? ns_of(st->st_mtim) : ns_of(st->st_ctim);

	clock_gettime(CLOCK_REALTIME, &now);
	if (!fresh && ns_of(now) - newest < RACY_MARGIN_NS) {
		statrec_forget(s, key);
		return;
	}
	pthread_mutex_lock(&s->lock);
	load(s);
	r = insert(s, key);
	if (r->state == REC_FORGOTTEN || !same_stat(r, st) || strcmp(r->sha256, sha256) != 0) {
		fill_stat(r, st);
		snprintf(r->sha256, sizeof(r->sha256), "%s", sha256);
		r->state = REC_PUT;
		s->dirty = true;
	}
	pthread_mutex_unlock(&s->lock);
}

void statrec_relinked(struct statrec *s, const char *key, const struct stat *st)
{
	bool found;
	size_t at;
	struct rec *r, now;

	pthread_mutex_lock(&s->lock);
	load(s);
	at = find(s, key, &found);
	r = found && s->recs[at].state != REC_FORGOTTEN ? &s->recs[at] : NULL;
	fill_stat(&now, st);
	if (r && r->dev == now.dev && r->ino == now.ino && r->size == now.size && r->mtime_ns == now.mtime_ns &&
	    r->ctime_ns != now.ctime_ns) {
		r->ctime_ns = now.ctime_ns;
		r->state = REC_PUT;
		s->dirty = true;
	}
	pthread_mutex_unlock(&s->lock);
}

void statrec_forget(struct statrec *s, const char *key)
{
	bool found;
	size_t at;

	pthread_mutex_lock(&s->lock);
	load(s);
	at = find(s, key, &found);
	if (found && s->recs[at].state != REC_FORGOTTEN) {
		s->recs[at].state = REC_FORGOTTEN;
		s->dirty = true;
	}
	pthread_mutex_unlock(&s->lock);
}

static void format_records(const struct statrec *s, struct strbuf *t)
{
	strbuf_add(t, STATREC_HEADER, strlen(STATREC_HEADER));
	for (size_t i = 0; i < s->count; i++) {
		const struct rec *r = &s->recs[i];
		char line[256];
		int n;
		if (r->state == REC_FORGOTTEN)
			continue;
		n = snprintf(line, sizeof(line), "%s %llu %llu %lld %lld %lld ", r->sha256, r->dev, r->ino, r->size,
			     r->mtime_ns, r->ctime_ns);
		strbuf_add(t, line, (size_t)n);
		escape_key(t, r->key);
		strbuf_add(t, "\n", 1);
	}
}

/* Records of files that are gone go when the records are next saved: a CI runner that
 * checks each job out into a new directory would otherwise grow the file for ever. Keys are
 * absolute paths or paths relative to the directory the records live in. */
static void prune_gone(struct statrec *merged)
{
	char *dir = fs_dirname(merged->path);
	struct stat st;

	for (size_t i = 0; i < merged->count; i++) {
		struct rec *r = &merged->recs[i];
		char *path;
		if (r->state != REC_LOADED)
			continue;
		path = r->key[0] == '/' ? xstrdup(r->key) : fs_path_join(dir, r->key);
		if (lstat(path, &st) < 0 && errno == ENOENT)
			r->state = REC_FORGOTTEN;
		free(path);
	}
	free(dir);
}

void statrec_save(struct statrec *s)
{
	struct statrec merged = {0};
	struct strbuf text = {0};
	char *lock_path, *tmp;
	int lock_fd, fd;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	if (!s->dirty) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	lock_path = xasprintf("%s.lock", s->path);
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(lock_path);
	if (lock_fd < 0) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	while (flock(lock_fd, LOCK_EX) < 0 && errno == EINTR)
		;
	/* What other processes saved since this one read the file, with this one's changes on top. */
	merged.path = s->path;
	read_records(&merged);
	for (size_t i = 0; i < s->count; i++) {
		const struct rec *r = &s->recs[i];
		struct rec *m;
		if (r->state == REC_LOADED)
			continue;
		m = insert(&merged, r->key);
		free(m->key);
		*m = *r;
		m->key = xstrdup(r->key);
	}
	prune_gone(&merged);
	format_records(&merged, &text);
	tmp = xasprintf("%s.tmp.XXXXXX", s->path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd >= 0) {
		bool ok = fchmod(fd, 0644) == 0;
		for (size_t done = 0; ok && done < text.len;) {
			ssize_t n = write(fd, text.data + done, text.len - done);
			ok = n > 0 || (n < 0 && errno == EINTR);
			done += n > 0 ? (size_t)n : 0;
		}
		if (close(fd) == 0 && ok && rename(tmp, s->path) == 0)
			s->dirty = false;
		else
			unlink(tmp);
	}
	free(tmp);
	free(text.data);
	for (size_t i = 0; i < merged.count; i++)
		free(merged.recs[i].key);
	free(merged.recs);
	close(lock_fd);
	pthread_mutex_unlock(&s->lock);
}

void statrec_free(struct statrec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++)
		free(s->recs[i].key);
	free(s->recs);
	free(s->path);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

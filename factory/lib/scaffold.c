/* scaffold.c - the starter files of `factory init` and the files scaffold_write puts down.
 * The import of a FlinkDeployment is in scaffold_import.c. */
#include "scaffold.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

#define NAME_MAX_LENGTH 45 /* the FlinkDeployment name rule */

void scaffold_add_file(struct scaffold *s, const char *path, char *content, bool optional);

void scaffold_add_file(struct scaffold *s, const char *path, char *content, bool optional)
{
	struct scaffold_file *f;

	s->files = realloc(s->files, (s->file_count + 1) * sizeof(*s->files));
	if (!s->files)
		abort();
	f = &s->files[s->file_count++];
	f->path = xstrdup(path);
	f->content = content;
	f->size = strlen(content);
	f->optional = optional;
	f->written = false;
}

/* A FlinkDeployment name from a directory's name: lower case, '-' for anything else, starting
 * with a letter; "my-app" when nothing is left. */
static char *name_from_dir(const char *dir)
{
	char resolved[PATH_MAX], *name = calloc(NAME_MAX_LENGTH + 1, 1);
	const char *base;
	size_t n = 0;

	if (!name)
		abort();
	base = realpath(dir, resolved) ? fs_basename(resolved) : fs_basename(dir);
	for (const char *p = base; *p && n < NAME_MAX_LENGTH; p++) {
		char c = (char)tolower((unsigned char)*p);
		if (c >= 'a' && c <= 'z')
			name[n++] = c;
		else if (c >= '0' && c <= '9' && n > 0)
			name[n++] = c;
		else if (n > 0 && name[n - 1] != '-')
			name[n++] = '-';
	}
	while (n > 0 && name[n - 1] == '-')
		name[--n] = '\0';
	if (n == 0) {
		free(name);
		return xstrdup("my-app");
	}
	return name;
}

/* The starter recipes: a head (name and Flink), the job of each kind, a shared tail. */
static const char recipe_head[] =
	"# recipe.yaml - one Flink application: the image it runs on and its Kubernetes manifests.\n"
	"# Check it with `factory validate recipe.yaml`, write the manifests with `factory render\n"
	"# recipe.yaml`, build the image with `factory build recipe.yaml`. README.md \"Recipe reference\"\n"
	"# lists every key.\n"
	"apiVersion: factory.dev/v1alpha1  # the recipe format\n"
	"kind: Recipe                      # this file describes one application\n"
	"metadata:\n"
	"  name: %s%*s# FlinkDeployment name: a-z, 0-9 and '-', 45 characters at most\n"
	"  namespace: default              # namespace of every object rendered\n"
	"\n"
	"flink:\n"
	"  version: 1.19.2                 # %s\n"
	"  image: flink:1.19.2             # the base image factory adds the connectors to\n"
	"\n"
	"# Where `factory build --push` pushes the image (without it the manifests run the base):\n"
	"# image:\n"
	"#   registry: registry.example.com  # target registry host[:port]\n"
	"#   repository: team/%s%*s# target repository\n"
	"#   tags: [\"1.0\"]                   # tags to push; the first one is deployed\n";

static const char pyflink_job[] =
	"\n"
	"# Connectors from the catalog (factory's connectors/), resolved for flink.version:\n"
	"# connectors:\n"
	"#   - name: kafka                 # the Kafka SQL connector, in lib/\n"
	"\n"
	"python:\n"
	"  scripts:                        # shipped in a ConfigMap: an edit rolls out, no rebuild\n"
	"    - jobs/main.py\n"
	"  executable: python3             # the interpreter of the client and the TaskManagers\n"
	"  # The official flink images have no Python: give the image one (python-build-standalone):\n"
	"  # runtime: {url: https://..., sha256: ...}\n";

static const char java_job[] =
	"#   files:                          # your job's JAR, copied into the image\n"
	"#     - {source: target/app.jar, destination: /opt/flink/usrlib/app.jar}\n"
	"\n"
	"connectors:                       # from the catalog (factory's connectors/), for flink.version\n"
	"  - name: kafka                   # the Kafka SQL connector, in lib/\n"
	"\n"
	"java:\n"
	"  jarURI: local:///opt/flink/examples/streaming/StateMachineExample.jar  # the job's JAR\n"
	"  # entryClass: com.example.Main  # main class, when the JAR's manifest names none\n"
	"  # args: [\"--input\", \"...\"]     # arguments of the job\n";

static const char recipe_tail[] =
	"\n"
	"job:\n"
	"  parallelism: 1                  # default parallelism of the job\n"
	"  upgradeMode: stateless          # stateless, savepoint or last-state (these need state:)\n"
	"\n"
	"jobManager:\n"
	"  memory: 1024m                   # memory of the JobManager pod\n"
	"  cpu: 1                          # its CPUs\n"
	"taskManager:\n"
	"  memory: 1024m                   # memory of each TaskManager pod\n"
	"  cpu: 1                          # its CPUs\n"
	"  slots: 1                        # taskmanager.numberOfTaskSlots\n"
	"\n"
	"serviceAccount: flink             # the operator runs the pods under this account\n";

static const char java_tail[] =
	"\n"
	"# Checkpoints and savepoints, needed by upgradeMode savepoint and last-state:\n"
	"# state:\n"
	"#   backend: rocksdb              # rocksdb or hashmap\n"
	"#   checkpoints: s3://bucket/flink/checkpoints\n"
	"#   savepoints: s3://bucket/flink/savepoints\n"
	"#   checkpointInterval: 60s       # execution.checkpointing.interval\n"
	"\n"
	"# Any other Flink option, written as a string:\n"
	"# flinkConfiguration:\n"
	"#   pipeline.max-parallelism: \"128\"\n";

static const char main_py[] =
	"# A tiny PyFlink job: upper-cases a few words and prints them (see the TaskManager's log).\n"
	"from pyflink.datastream import StreamExecutionEnvironment\n"
	"\n"
	"\n"
	"def main():\n"
	"    env = StreamExecutionEnvironment.get_execution_environment()\n"
	"    words = env.from_collection([\"hello\", \"from\", \"factory\"])\n"
	"    words.map(lambda w: w.upper()).print()\n"
	"    env.execute(\"%s\")\n"
	"\n"
	"\n"
	"if __name__ == \"__main__\":\n"
	"    main()\n";

static const char factory_yaml[] =
	"# factory.yaml - settings shared by every recipe in this directory.\n"
	"# Values may reference environment variables as ${NAME}; secrets belong there, never here.\n"
	"apiVersion: factory.dev/v1alpha1  # the configuration format\n"
	"kind: Config                      # this file configures factory\n"
	"\n"
	"# The connector catalog; default: the one installed with factory.\n"
	"# catalog: connectors\n"
	"\n"
	"maven:\n"
	"  repositories:                   # searched in order for connectors and other JARs\n"
	"    - name: central\n"
	"      url: https://repo.maven.apache.org/maven2\n"
	"  # A mirror replaces the repositories it names (\"*\" for all), e.g. a company Nexus:\n"
	"  # mirrors:\n"
	"  #   - {name: nexus, url: https://nexus.example.com/repository/maven-public, mirrorOf: \"*\",\n"
	"  #      username: \"${NEXUS_USER}\", password: \"${NEXUS_PASSWORD}\"}\n"
	"\n"
	"baseRegistry: docker.io           # where bare image names such as flink:1.19.2 come from\n"
	"\n"
	"registries:                       # how to log in to the registries factory pulls and pushes\n"
	"  - host: docker.io\n"
	"    credentials: docker           # docker/podman config.json and credential helpers\n"
	"\n"
	"# cache:\n"
	"#   dir: ~/.cache/factory         # downloads and layers; default $XDG_CACHE_HOME/factory\n";

static int column_pad(const char *name, int column)
{
	int n = column - (int)strlen(name);
	return n > 1 ? n : 1;
}

int scaffold_starter(struct scaffold *s, const char *dir, const char *name, enum scaffold_kind kind,
		     struct error *err)
{
	char *head;
	bool java;

	(void)err;
	s->name = name ? xstrdup(name) : name_from_dir(dir);
	/* The comments line up ("  name: " is 8 wide, "#   repository: team/" 21). */
	java = kind == SCAFFOLD_JAVA;
	head = xasprintf(recipe_head, s->name, column_pad(s->name, 26), "",
			 java ? "the Flink release (1.17 ... 2.2)" : "the Flink release; PyFlink needs the full release",
			 s->name, column_pad(s->name, 15), "");
	scaffold_add_file(s, "recipe.yaml",
			  xasprintf("%s%s%s%s", head, java ? java_job : pyflink_job, recipe_tail, java ? java_tail : ""),
			  false);
	free(head);
	if (kind == SCAFFOLD_PYFLINK)
		scaffold_add_file(s, "jobs/main.py", xasprintf(main_py, s->name), false);
	scaffold_add_file(s, "factory.yaml", xstrdup(factory_yaml), true);
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

int scaffold_write(struct scaffold *s, const char *dir, bool force, struct error *err)
{
	int rc = 0;

	/* Every refusal before the first write. */
	for (size_t i = 0; i < s->file_count; i++) {
		char *path = fs_path_join(dir, s->files[i].path);
		bool refuse = !s->files[i].optional && !force && exists(path);
		if (refuse)
			error_set(err, ERROR_CONFLICT, "%s exists (--force overwrites it)", path);
		free(path);
		if (refuse)
			return -1;
	}
	for (size_t i = 0; i < s->file_count && rc == 0; i++) {
		char *path = fs_path_join(dir, s->files[i].path);
		char *parent = fs_dirname(path);
		if (!(s->files[i].optional && exists(path))) {
			rc = fs_mkdir_p(parent, err) ||
			     fs_write_file_atomic(path, s->files[i].content, s->files[i].size, 0644, err);
			s->files[i].written = rc == 0;
		}
		free(parent);
		free(path);
	}
	return rc ? -1 : 0;
}

void scaffold_free(struct scaffold *s)
{
	for (size_t i = 0; i < s->file_count; i++) {
		free(s->files[i].path);
		free(s->files[i].content);
	}
	free(s->files);
	for (size_t i = 0; i < s->dropped_count; i++)
		free(s->dropped[i].path);
	free(s->dropped);
	for (size_t i = 0; i < s->note_count; i++)
		free(s->notes[i]);
	free(s->notes);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

#include "flink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	int major, minor;
} supported[] = {{1, 17}, {1, 18}, {1, 19}, {1, 20}, {2, 0}, {2, 1}, {2, 2}};

bool flink_version_parse(const char *text, int *major, int *minor, int *patch)
{
	int parts[3] = {-1, -1, -1}, n = 0;
	const char *p = text;

	for (;;) {
		long v;
		char *end;
		if (n == 3 || *p < '0' || *p > '9')
			return false;
		v = strtol(p, &end, 10);
		if (v > 999 || (end - p > 1 && *p == '0'))
			return false;
		parts[n++] = (int)v;
		if (*end == '\0')
			break;
		if (*end != '.')
			return false;
		p = end + 1;
	}
	if (n < 2)
		return false;
	*major = parts[0];
	*minor = parts[1];
	*patch = parts[2];
	return true;
}

bool flink_version_supported(int major, int minor)
{
	for (size_t i = 0; i < sizeof(supported) / sizeof(*supported); i++)
		if (supported[i].major == major && supported[i].minor == minor)
			return true;
	return false;
}

const char *flink_supported_versions(void)
{
	return "1.17, 1.18, 1.19, 1.20, 2.0, 2.1, 2.2";
}

void flink_python_jar_uri(int major, int minor, int patch, char *buf, size_t size)
{
	/* The Scala suffix was dropped from flink-python in 1.16. */
	if (major == 1 && minor <= 15)
		snprintf(buf, size, "local://" FLINK_HOME "/opt/flink-python_2.12-%d.%d.%d.jar", major, minor,
			 patch);
	else
		snprintf(buf, size, "local://" FLINK_HOME "/opt/flink-python-%d.%d.%d.jar", major, minor, patch);
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool flink_destination_valid(const char *destination)
{
	const char *name;

	if (strcmp(destination, "lib") == 0 || strcmp(destination, "usrlib") == 0)
		return true;
	if (strncmp(destination, "plugins/", 8) != 0)
		return false;
	name = destination + 8;
	if (!is_lower_alnum(*name) || strlen(name) > 63)
		return false;
	for (; *name; name++)
		if (!is_lower_alnum(*name) && *name != '-' && *name != '_' && *name != '.')
			return false;
	return true;
}

bool k8s_dns_label(const char *name, size_t max)
{
	size_t len = strlen(name);

	if (len == 0 || len > max || !is_lower_alnum(name[0]) || !is_lower_alnum(name[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_alnum(name[i]) && name[i] != '-')
			return false;
	return true;
}

bool k8s_dns_subdomain(const char *name)
{
	size_t len = strlen(name), start = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (name[i] != '.' && name[i] != '\0')
			continue;
		char part[254];
		memcpy(part, name + start, i - start);
		part[i - start] = '\0';
		if (!k8s_dns_label(part, 63))
			return false;
		start = i + 1;
	}
	return true;
}

bool flink_deployment_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 45 || name[0] < 'a' || name[0] > 'z')
		return false;
	return k8s_dns_label(name, 45);
}

static bool label_name(const char *s, size_t len)
{
	if (len == 0 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && ((i == 0 || i == len - 1) || (c != '-' && c != '_' && c != '.')))
			return false;
	}
	return true;
}

bool k8s_label_key(const char *key)
{
	const char *slash = strchr(key, '/');

	if (slash) {
		char prefix[254];
		size_t plen = (size_t)(slash - key);
		if (plen == 0 || plen > 253)
			return false;
		memcpy(prefix, key, plen);
		prefix[plen] = '\0';
		if (!k8s_dns_subdomain(prefix))
			return false;
		key = slash + 1;
	}
	return label_name(key, strlen(key));
}

bool k8s_label_value(const char *value)
{
	return *value == '\0' || label_name(value, strlen(value));
}

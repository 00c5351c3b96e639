/* flink.h - facts about Flink and its operator that several modules rely on. */
#ifndef FACTORY_FLINK_H
#define FACTORY_FLINK_H

#include <stdbool.h>
#include <stddef.h>

#define FLINK_HOME "/opt/flink"
#define FLINK_MAIN_CONTAINER "flink-main-container"
#define FLINK_PYTHON_DRIVER "org.apache.flink.client.python.PythonDriver"
#define FLINK_REST_PORT 8081

/* Parses "1.19" or "1.19.2"; patch is -1 when absent. */
bool flink_version_parse(const char *text, int *major, int *minor, int *patch);

/* True for the versions factory renders for (the operator's supported range). */
bool flink_version_supported(int major, int minor);

/* "1.17, 1.18, ..." */
const char *flink_supported_versions(void);

/* The jar that runs PyFlink jobs in the official image, as a local:// URI. */
void flink_python_jar_uri(int major, int minor, int patch, char *buf, size_t size);

/* True for "lib", "usrlib" and "plugins/<name>" with a plain directory name. */
bool flink_destination_valid(const char *destination);

/* Kubernetes object name (DNS-1123 subdomain, also a valid label value when short). */
bool k8s_dns_subdomain(const char *name);
/* DNS-1123 label: namespaces, container and port names. */
bool k8s_dns_label(const char *name, size_t max);
/* The operator's FlinkDeployment name rule: [a-z]([-a-z0-9]{0,43}[a-z0-9])? */
bool flink_deployment_name_valid(const char *name);
/* Label key ([prefix/]name) and value rules. */
bool k8s_label_key(const char *key);
bool k8s_label_value(const char *value);

#endif

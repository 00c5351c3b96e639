/* dsse-tool - the DSSE module on the command line, for tests/t_dsse_openssl.sh, which checks
 * its envelopes against openssl and openssl's signatures against it.
 *
 *     dsse-tool sign KEY.pem PAYLOAD_TYPE PAYLOAD_FILE      envelope on stdout
 *     dsse-tool verify PUBLIC.pem PAYLOAD_TYPE ENVELOPE     payload on stdout
 *
 * A passphrase for KEY.pem comes from $DSSE_PASSPHRASE. Exit status 0, 1 with the error on
 * stderr, 2 for a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsse.h"
#include "fsutil.h"

int main(int argc, char **argv)
{
	struct dsse_key *key = NULL;
	struct error err = {0};
	char *input = NULL, *output = NULL;
	size_t input_size, output_size = 0;
	bool sign = argc == 5 && strcmp(argv[1], "sign") == 0;
	int rc;

	if (argc != 5 || (!sign && strcmp(argv[1], "verify") != 0)) {
		fprintf(stderr, "usage: dsse-tool sign KEY.pem PAYLOAD_TYPE PAYLOAD_FILE\n"
				"       dsse-tool verify PUBLIC.pem PAYLOAD_TYPE ENVELOPE\n");
		return 2;
	}
	rc = sign ? dsse_key_load(&key, argv[2], getenv("DSSE_PASSPHRASE"), &err)
		  : dsse_public_key_load(&key, argv[2], &err);
	if (!rc)
		rc = fs_read_file(argv[4], sign ? DSSE_PAYLOAD_MAX : DSSE_ENVELOPE_MAX, &input, &input_size, &err);
	if (!rc && sign)
		rc = dsse_sign(key, argv[3], input, input_size, &output, &output_size, &err);
	else if (!rc)
		rc = dsse_verify(key, input, input_size, argv[3], &output, &output_size, &err);
	if (rc)
		fprintf(stderr, "dsse-tool: %s\n", err.message);
	else if (fwrite(output, 1, output_size, stdout) != output_size || fflush(stdout))
		rc = -1;
	free(output);
	free(input);
	dsse_key_free(key);
	return rc ? 1 : 0;
}

/*
 * secret.c: creating and loading the site secret file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hex.h"
#include "secret.h"

int secret_create(const char *path, struct secret *s, struct err *e)
{
    char line[2 * IDNUMBER_SECRET_LEN + 2];
    ssize_t n;
    int fd;

    if (RAND_bytes(s->key, sizeof(s->key)) != 1)
        return err_set(e, EX_SOFTWARE, "no randomness for the site secret");
    hex_encode(s->key, sizeof(s->key), line);
    strcat(line, "\n");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1)
        return err_errno(e, EX_CANTCREAT, "%s", path);
    n = write(fd, line, strlen(line));
    OPENSSL_cleanse(line, sizeof(line));
    if (n != (ssize_t)(2 * IDNUMBER_SECRET_LEN + 1) || fsync(fd) == -1) {
        close(fd);
        unlink(path);
        return err_errno(e, EX_IOERR, "%s: write", path);
    }
    close(fd);
    return 0;
}

int secret_load(const char *path, struct secret *s, struct err *e)
{
    char buf[256];
    struct stat st;
    ssize_t n;
    long got;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return err_errno(e, EX_NOINPUT, "site secret %s", path);
    if (fstat(fd, &st) == -1 || (st.st_mode & 077) != 0) {
        close(fd);
        return err_set(e, EX_CONFIG,
                       "site secret %s must be mode 0600 (chmod 600 it)", path);
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return err_errno(e, EX_IOERR, "%s", path);
    got = hex_decode(buf, (size_t)n, s->key, sizeof(s->key));
    OPENSSL_cleanse(buf, sizeof(buf));
    if (got != IDNUMBER_SECRET_LEN)
        return err_set(e, EX_DATAERR,
                       "site secret %s: expected %d bytes as one hex line",
                       path, IDNUMBER_SECRET_LEN);
    return 0;
}

void secret_wipe(struct secret *s)
{
    OPENSSL_cleanse(s->key, sizeof(s->key));
}

int secret_check_value(const struct secret *s, char out[SECRET_CHECK_HEX + 1])
{
    unsigned char mac[32];
    size_t len = 0;

    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, s->key, sizeof(s->key),
                  (const unsigned char *)SECRET_CHECK_LABEL,
                  strlen(SECRET_CHECK_LABEL), mac, sizeof(mac), &len) == NULL ||
        len != sizeof(mac))
        return -1;
    hex_encode(mac, sizeof(mac), out);
    return 0;
}

/* The baseline for bench/debugfs.sh: one thread reads every statistic file of every VM folder
 * (open, read, close, by full path), waits a second, and reads them all again, as kvm_stat -1 -d -i
 * must. Usage: read-twice KVM_DEBUGFS_DIR */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long read_all(const char *kvm)
{
    long sum = 0;
    DIR *top = opendir(kvm);
    struct dirent *vm;
    char path[4096], text[64];
    while ((vm = readdir(top)) != NULL) {
        if (vm->d_name[0] == '.' || vm->d_type != DT_DIR)
            continue;
        snprintf(path, sizeof path, "%s/%s", kvm, vm->d_name);
        DIR *folder = opendir(path);
        struct dirent *stat;
        while ((stat = readdir(folder)) != NULL) {
            if (stat->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s/%s", kvm, vm->d_name, stat->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            ssize_t n = read(fd, text, sizeof text - 1);
            close(fd);
            if (n > 0) {
                text[n] = 0;
                sum += strtol(text, NULL, 10);
            }
        }
        closedir(folder);
    }
    closedir(top);
    return sum;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    long before = read_all(argv[1]);
    sleep(1);
    long after = read_all(argv[1]);
    printf("%ld %ld\n", before, after);
    return 0;
}

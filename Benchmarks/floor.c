/* The benchmark floor: libpcap reading every packet of a file with pcap_next_ex and touching
 * each byte (a sum, so the compiler cannot skip the reads). ftpscope is measured against it.
 * The file is read through a 1 MiB stdio buffer, as ftpscope reads it: stdio's default is the
 * file system's block (4 KiB), a read(2) per block, and the floor should be the fastest plain
 * libpcap loop, not one a tool can beat by buffering better. Several files (a rotated capture)
 * are read one after another. */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv) {
    char err[PCAP_ERRBUF_SIZE];
    if (argc < 2) { fprintf(stderr, "usage: floor FILE...\n"); return 64; }
    static char buffer[1 << 20];
    unsigned long long packets = 0, bytes = 0, sum = 0;
    for (int a = 1; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) { perror("floor"); return 3; }
        setvbuf(f, buffer, _IOFBF, sizeof buffer);
        pcap_t *p = pcap_fopen_offline(f, err);
        if (!p) { fprintf(stderr, "floor: %s\n", err); fclose(f); return 3; }
        struct pcap_pkthdr *h;
        const u_char *d;
        while (pcap_next_ex(p, &h, &d) == 1) {
            packets++;
            bytes += h->caplen;
            for (bpf_u_int32 i = 0; i < h->caplen; i++) sum += d[i];
        }
        pcap_close(p);
    }
    printf("%llu packets %llu bytes checksum %llu\n", packets, bytes, sum);
    return 0;
}

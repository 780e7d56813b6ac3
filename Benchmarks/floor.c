/* The benchmark floor: libpcap reading every packet of a file with pcap_next_ex and touching
 * each byte (a sum, so the compiler cannot skip the reads). ftpscope is measured against it. */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv) {
    char err[PCAP_ERRBUF_SIZE];
    if (argc != 2) { fprintf(stderr, "usage: floor FILE\n"); return 64; }
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) { fprintf(stderr, "floor: %s\n", err); return 3; }
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long long packets = 0, bytes = 0, sum = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        packets++;
        bytes += h->caplen;
        for (bpf_u_int32 i = 0; i < h->caplen; i++) sum += d[i];
    }
    pcap_close(p);
    printf("%llu packets %llu bytes checksum %llu\n", packets, bytes, sum);
    return 0;
}

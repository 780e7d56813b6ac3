// AES-CBC decryption through OpenSSL's libcrypto, for TLS records of the CBC suites.
// swift-crypto has no fast AES-CBC: its _CryptoExtras one sets up the key schedule again for
// every 16-byte block through generic code (27 MB/s measured on a 300 MB FTPS download, against
// about 800 MB/s for AES-GCM through swift-crypto); libcrypto's EVP runs on the CPU's AES
// instructions.
#include <openssl/evp.h>

/// Decrypts (`encrypt` 0) or encrypts (1: synthetic captures, the benchmark's generator)
/// `length` bytes, whole blocks, of `in` into `out` with a 16- or 32-byte key; no padding is
/// added or removed (TLS pads its own way). Returns 1 on success, 0 otherwise.
static inline int ftpscope_aes_cbc(int encrypt, const unsigned char *key, int keyLength, const unsigned char *iv,
                                   const unsigned char *in, int length, unsigned char *out) {
    const EVP_CIPHER *cipher = keyLength == 16 ? EVP_aes_128_cbc() : keyLength == 32 ? EVP_aes_256_cbc() : NULL;
    if (cipher == NULL || length <= 0 || length % 16 != 0) return 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int written = 0, ok = EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt) == 1
        && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1
        && EVP_CipherUpdate(ctx, out, &written, in, length) == 1
        && written == length;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

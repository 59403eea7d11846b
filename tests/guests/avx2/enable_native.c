/* avx2calc natively: Linux has enabled the AVX state already. */
void avx2_enable(void);
void avx2_enable(void) {}

/* Caller side: the hakoniwa-init program, built first by build.sh, carried in this library's read-only data. */
  .section .rodata
  .balign 16
  .globl hk_init_image
  .hidden hk_init_image
hk_init_image:
  .incbin "hakoniwa-init"
  .globl hk_init_image_end
  .hidden hk_init_image_end
hk_init_image_end:
  .section .note.GNU-stack,"",@progbits

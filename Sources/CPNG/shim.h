// libpng's simplified API (png_image), wrapped so Swift needs none of its macros.
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Decodes a PNG held in memory to 8-bit gray+alpha pairs (libpng converts colour, palette,
/// 16-bit and gamma). Returns 0 and sets `*pixels` (free it with `free`) on success; 1 with
/// libpng's reason in `message` if the bytes are not a PNG it can read; 2 if the image has
/// more than `max_pixels` pixels (nothing is allocated then).
static inline int mnl_png_decode_gray_alpha(
    const void *data, size_t size, size_t max_pixels, unsigned *width, unsigned *height,
    unsigned char **pixels, char *message, size_t message_size)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    *pixels = NULL;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        snprintf(message, message_size, "%s", image.message);
        return 1;
    }
    *width = image.width;
    *height = image.height;
    if ((size_t)image.width * (size_t)image.height > max_pixels) {
        png_image_free(&image);
        return 2;
    }
    image.format = PNG_FORMAT_GA;
    unsigned char *buffer = malloc(PNG_IMAGE_SIZE(image));
    if (buffer == NULL) {
        png_image_free(&image);
        snprintf(message, message_size, "out of memory");
        return 1;
    }
    if (!png_image_finish_read(&image, NULL, buffer, 0, NULL)) {
        snprintf(message, message_size, "%s", image.message);
        free(buffer);
        return 1;
    }
    *pixels = buffer;
    return 0;
}

/// Encodes 8-bit grayscale pixels as a PNG in memory (tests and the draw-a-digit pad's
/// examples). Returns the PNG's size, with `*out` to free, or 0 on failure.
static inline size_t mnl_png_encode_gray(
    const unsigned char *pixels, unsigned width, unsigned height, void **out)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = PNG_FORMAT_GRAY;
    png_alloc_size_t size = 0;
    *out = NULL;
    if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, 0, NULL)) return 0;
    void *buffer = malloc(size);
    if (buffer == NULL) return 0;
    if (!png_image_write_to_memory(&image, buffer, &size, 0, pixels, 0, NULL)) {
        free(buffer);
        return 0;
    }
    *out = buffer;
    return size;
}

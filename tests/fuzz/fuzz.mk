# The libFuzzer targets, built with clang (FUZZ_CC) whatever compiler builds the rest: the
# modules are compiled again with coverage instrumentation and ASan + UBSan into
# tests/fuzz/obj/, archived, and each tests/fuzz/fuzz_<target>.c is linked against that
# archive with -fsanitize=fuzzer. GNU make, invoked by Makefile.am's fuzz-targets rule with
# CC, DEFS, SRCS (the library's .c files), DEP_CFLAGS, DEP_LIBS and TARGETS.
srcdir ?= .
OBJDIR = tests/fuzz/obj
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=gnu11 -g -O1 -D_GNU_SOURCE $(DEFS) -ffp-contract=off $(SAN) -I$(srcdir)/src $(DEP_CFLAGS)

OBJS = $(patsubst src/%.c,$(OBJDIR)/%.o,$(filter src/%.c,$(SRCS)))
BINS = $(patsubst %,tests/fuzz/fuzz_%,$(TARGETS))

all: $(BINS)

$(OBJDIR)/%.o: $(srcdir)/src/%.c
	@mkdir -p $(OBJDIR)
	@echo "  FUZZCC   $@"
	@$(CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# a file generated in the build tree (src/admin_page_data.c)
$(OBJDIR)/%.o: src/%.c
	@mkdir -p $(OBJDIR)
	@echo "  FUZZCC   $@"
	@$(CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(OBJDIR)/libconcordkv_fuzz.a: $(OBJS)
	@rm -f $@
	@ar rcs $@ $(OBJS)

tests/fuzz/fuzz_%: $(srcdir)/tests/fuzz/fuzz_%.c $(srcdir)/tests/fuzz/fuzz.h $(OBJDIR)/libconcordkv_fuzz.a
	@echo "  FUZZLD   $@"
	@$(CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(OBJDIR)/libconcordkv_fuzz.a $(DEP_LIBS) -o $@

-include $(OBJS:.o=.d)
.PHONY: all

/*
 * winunwind: answers RtlVirtualUnwind queries about one PE32+ image, for tests.
 *
 * Built with mingw-w64 (build.sh) and run under Wine (or Windows). The image is loaded as data:
 * headers and sections are copied to their RVAs in a fresh allocation, nothing is relocated or
 * run. Queries come one per line on stdin, answers go one per line to stdout, flushed after each.
 * The protocol is described in README.md beside this file.
 */
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK_SIZE (1u << 20)
#define MAX_LINE (1u << 20)
#define MAX_WRITES 4096
#define CHAIN_LIMIT 32

static const char *const reg_names[16] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static BYTE *image;          /* the image as loaded: SizeOfImage bytes at RVA 0 */
static DWORD image_size;
static RUNTIME_FUNCTION *pdata;
static DWORD pdata_count;
static BYTE *stack;          /* the synthetic stack, STACK_SIZE bytes */
static char line[MAX_LINE];

/* Fault recovery: the vectored handler sends a fault inside a query back to the query's setjmp. */
static volatile LONG in_query;
static volatile DWORD fault_code;
static volatile ULONG_PTR fault_address, fault_info[2];
static void *recover_buffer[5];

static ULONG64 poison(ULONG64 offset) { return 0xBAD5000000000000ull | offset; }

static void fail(const char *what)
{
    fprintf(stderr, "winunwind: %s\n", what);
    exit(2);
}

static __attribute__((noreturn, noinline)) void recover(void)
{
    __builtin_longjmp(recover_buffer, 1);
}

static LONG CALLBACK on_fault(EXCEPTION_POINTERS *info)
{
    if (!in_query) return EXCEPTION_CONTINUE_SEARCH;
    in_query = 0;
    fault_code = info->ExceptionRecord->ExceptionCode;
    fault_address = (ULONG_PTR)info->ExceptionRecord->ExceptionAddress;
    fault_info[0] = info->ExceptionRecord->NumberParameters > 0 ? info->ExceptionRecord->ExceptionInformation[0] : 0;
    fault_info[1] = info->ExceptionRecord->NumberParameters > 1 ? info->ExceptionRecord->ExceptionInformation[1] : 0;
    /* Resume in recover() on an aligned stack below the faulting frame, as if it had been called. */
    info->ContextRecord->Rsp = ((info->ContextRecord->Rsp - 256) & ~(DWORD64)15) - 8;
    info->ContextRecord->Rip = (DWORD64)(ULONG_PTR)recover;
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void load_image(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail("cannot open the image");
    if (fseek(f, 0, SEEK_END) != 0) fail("cannot size the image");
    long length = ftell(f);
    if (length < 0x200) fail("image too small");
    BYTE *file = malloc((size_t)length);
    if (!file) fail("out of memory");
    rewind(f);
    if (fread(file, 1, (size_t)length, f) != (size_t)length) fail("cannot read the image");
    fclose(f);

    DWORD pe = *(DWORD *)(file + 0x3C);
    if (file[0] != 'M' || file[1] != 'Z' || pe > (DWORD)length - 0x108 || memcmp(file + pe, "PE\0\0", 4) != 0)
        fail("not a PE image");
    IMAGE_FILE_HEADER *coff = (IMAGE_FILE_HEADER *)(file + pe + 4);
    IMAGE_OPTIONAL_HEADER64 *opt = (IMAGE_OPTIONAL_HEADER64 *)(coff + 1);
    if (opt->Magic != IMAGE_NT_OPTIONAL_HDR64_MAGIC) fail("not a PE32+ image");
    image_size = opt->SizeOfImage;
    if (image_size == 0 || image_size > 0x40000000u) fail("unreasonable SizeOfImage");

    image = VirtualAlloc(NULL, image_size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!image) fail("cannot allocate SizeOfImage bytes");
    DWORD headers = opt->SizeOfHeaders;
    if (headers > (DWORD)length) headers = (DWORD)length;
    if (headers > image_size) headers = image_size;
    memcpy(image, file, headers);

    DWORD section_table = pe + 4 + sizeof(IMAGE_FILE_HEADER) + coff->SizeOfOptionalHeader;
    for (unsigned i = 0; i < coff->NumberOfSections; i++)
    {
        DWORD at = section_table + i * sizeof(IMAGE_SECTION_HEADER);
        if (at + sizeof(IMAGE_SECTION_HEADER) > (DWORD)length) break;
        IMAGE_SECTION_HEADER *s = (IMAGE_SECTION_HEADER *)(file + at);
        DWORD raw = s->SizeOfRawData, size = s->Misc.VirtualSize ? s->Misc.VirtualSize : raw;
        if (raw < size) size = raw;                       /* the rest stays zero */
        if (s->PointerToRawData >= (DWORD)length) continue;
        if (size > (DWORD)length - s->PointerToRawData) size = (DWORD)length - s->PointerToRawData;
        if (s->VirtualAddress >= image_size) continue;
        if (size > image_size - s->VirtualAddress) size = image_size - s->VirtualAddress;
        memcpy(image + s->VirtualAddress, file + s->PointerToRawData, size);
    }

    if (opt->NumberOfRvaAndSizes > IMAGE_DIRECTORY_ENTRY_EXCEPTION)
    {
        IMAGE_DATA_DIRECTORY *d = &opt->DataDirectory[IMAGE_DIRECTORY_ENTRY_EXCEPTION];
        if (d->VirtualAddress && d->VirtualAddress < image_size)
        {
            DWORD size = d->Size;
            if (size > image_size - d->VirtualAddress) size = image_size - d->VirtualAddress;
            pdata = (RUNTIME_FUNCTION *)(image + d->VirtualAddress);
            pdata_count = size / sizeof(RUNTIME_FUNCTION);
        }
    }
    free(file);
}

/* Follows low-bit (RUNTIME_FUNCTION_INDIRECT) entries; NULL if a link leaves the image or loops. */
static RUNTIME_FUNCTION *resolve_indirect(RUNTIME_FUNCTION *entry)
{
    for (int links = 0; entry->UnwindData & 1; links++)
    {
        DWORD rva = entry->UnwindData & ~1u;
        if (links >= CHAIN_LIMIT || rva > image_size - sizeof(RUNTIME_FUNCTION)) return NULL;
        entry = (RUNTIME_FUNCTION *)(image + rva);
    }
    return entry;
}

static RUNTIME_FUNCTION *lookup(DWORD rva)
{
    DWORD lo = 0, hi = pdata_count;
    while (lo < hi)
    {
        DWORD mid = lo + (hi - lo) / 2;
        if (rva < pdata[mid].BeginAddress) hi = mid;
        else if (rva >= pdata[mid].EndAddress) lo = mid + 1;
        else return &pdata[mid];
    }
    return NULL;
}

/* A value: 0x... or decimal literal, or s+0x... (an offset into the synthetic stack). */
static int parse_value(const char *text, ULONG64 *value)
{
    char *end;
    if (text[0] == 's' && text[1] == '+')
    {
        ULONG64 offset = strtoull(text + 2, &end, 0);
        if (end == text + 2 || (*end && *end != ',' && *end != ' ') || offset > STACK_SIZE) return 0;
        *value = (ULONG64)(ULONG_PTR)stack + offset;
        return 1;
    }
    *value = strtoull(text, &end, 0);
    return end != text && (!*end || *end == ',' || *end == ' ');
}

static void print_value(ULONG64 value)
{
    ULONG64 lo = (ULONG64)(ULONG_PTR)stack;
    if (value >= lo && value <= lo + STACK_SIZE) printf("s+0x%llx", (unsigned long long)(value - lo));
    else printf("0x%llx", (unsigned long long)value);
}

static void print_rva(const char *key, ULONG64 pointer)
{
    if (!pointer) printf(" %s=-", key);
    else printf(" %s=0x%llx", key, (unsigned long long)(pointer - (ULONG64)(ULONG_PTR)image));
}

static ULONG64 *reg_slot(CONTEXT *c, int index) { return &c->Rax + index; }

static void answer_error(const char *id, const char *what)
{
    printf("err%s%s %s\n", id[0] ? " id=" : "", id, what);
}

static void query(char *args)
{
    char id[32] = "";
    DWORD pc = 0;
    int have_pc = 0, have_rsp = 0;
    long fn_index = -1;
    DWORD type = UNW_FLAG_NHANDLER;
    static CONTEXT context;
    static DWORD write_offsets[MAX_WRITES];
    static int writes;   /* static: it must survive the longjmp of a fault */
    char message[160];

    writes = 0;
    memset(&context, 0, sizeof(context));
    context.ContextFlags = CONTEXT_FULL;

    for (char *token = strtok(args, " \r\n"); token; token = strtok(NULL, " \r\n"))
    {
        char *eq = strchr(token, '=');
        if (!eq) { answer_error(id, "query bad-token"); goto restore; }
        *eq = 0;
        char *key = token, *value = eq + 1;
        ULONG64 v;
        int reg = -1;
        for (int r = 0; r < 16; r++) if (!strcmp(key, reg_names[r])) reg = r;

        if (!strcmp(key, "id")) { snprintf(id, sizeof(id), "%s", value); }
        else if (!strcmp(key, "pc"))
        {
            if (!parse_value(value, &v) || v >= image_size) { answer_error(id, "query bad-pc"); goto restore; }
            pc = (DWORD)v;
            have_pc = 1;
        }
        else if (!strcmp(key, "fn"))
        {
            if (!strcmp(value, "auto")) fn_index = -1;
            else if (!parse_value(value, &v) || v >= pdata_count) { answer_error(id, "query bad-fn"); goto restore; }
            else fn_index = (long)v;
        }
        else if (!strcmp(key, "type"))
        {
            if (!parse_value(value, &v) || v > 3) { answer_error(id, "query bad-type"); goto restore; }
            type = (DWORD)v;
        }
        else if (reg >= 0)
        {
            if (!parse_value(value, &v)) { answer_error(id, "query bad-register"); goto restore; }
            *reg_slot(&context, reg) = v;
            if (reg == 4) have_rsp = 1;
        }
        else if (!strcmp(key, "m"))
        {
            /* m=OFF:V,OFF:V,... : 8-byte values written into the stack at 8-aligned offsets */
            char *p = value;
            while (*p)
            {
                char *end;
                ULONG64 offset = strtoull(p, &end, 0);
                if (end == p || *end != ':' || (offset & 7) || offset > STACK_SIZE - 8 || writes == MAX_WRITES)
                {
                    answer_error(id, "query bad-memory");
                    goto restore;
                }
                p = end + 1;
                if (!parse_value(p, &v)) { answer_error(id, "query bad-memory-value"); goto restore; }
                *(ULONG64 *)(stack + offset) = v;
                write_offsets[writes++] = (DWORD)offset;
                p += strcspn(p, ",");
                if (*p == ',') p++;
            }
        }
        else { answer_error(id, "query unknown-key"); goto restore; }
    }

    if (!have_pc || !have_rsp) { answer_error(id, "query needs pc and rsp"); goto restore; }

    RUNTIME_FUNCTION *entry = fn_index >= 0 ? &pdata[fn_index] : lookup(pc);
    if (!entry) { answer_error(id, "no-function"); goto restore; }
    entry = resolve_indirect(entry);
    if (!entry) { answer_error(id, "bad-indirect-entry"); goto restore; }

    ULONG64 base = (ULONG64)(ULONG_PTR)image;
    context.Rip = base + pc;
    KNONVOLATILE_CONTEXT_POINTERS pointers;
    memset(&pointers, 0, sizeof(pointers));
    PVOID handler_data = NULL;
    DWORD64 frame = 0;
    PEXCEPTION_ROUTINE handler = NULL;

    if (__builtin_setjmp(recover_buffer) == 0)
    {
        in_query = 1;
        handler = RtlVirtualUnwind(type, base, base + pc, entry, &context, &handler_data, &frame, &pointers);
        in_query = 0;
    }
    else
    {
        ULONG64 a = fault_address;
        snprintf(message, sizeof(message), "exception code=0x%lx at=%s0x%llx access=%llu address=",
                 (unsigned long)fault_code, a >= base && a < base + image_size ? "image+" : "",
                 (unsigned long long)(a >= base && a < base + image_size ? a - base : a),
                 (unsigned long long)fault_info[0]);
        printf("err%s%s %s", id[0] ? " id=" : "", id, message);
        print_value(fault_info[1]);
        printf("\n");
        goto restore;
    }

    printf("ok%s%s fn=0x%llx", id[0] ? " id=" : "", id, (unsigned long long)((BYTE *)entry - image));
    printf(" rip=");
    print_value(context.Rip);
    for (int r = 0; r < 16; r++)
    {
        printf(" %s=", reg_names[r]);
        print_value(*reg_slot(&context, r));
    }
    printf(" frame=");
    print_value(frame);
    print_rva("handler", (ULONG64)(ULONG_PTR)handler);
    print_rva("data", (ULONG64)(ULONG_PTR)handler_data);
    printf(" from=");
    int any = 0;
    for (int r = 0; r < 16; r++)
    {
        if (!pointers.IntegerContext[r]) continue;
        printf("%s%s@", any++ ? "," : "", reg_names[r]);
        print_value((ULONG64)(ULONG_PTR)pointers.IntegerContext[r]);
    }
    if (!any) printf("-");
    printf(" xfrom=");
    any = 0;
    for (int r = 0; r < 16; r++)
    {
        if (!pointers.FloatingContext[r]) continue;
        printf("%sxmm%d@", any++ ? "," : "", r);
        print_value((ULONG64)(ULONG_PTR)pointers.FloatingContext[r]);
    }
    if (!any) printf("-");
    printf("\n");

restore:
    while (writes > 0)
    {
        DWORD offset = write_offsets[--writes];
        *(ULONG64 *)(stack + offset) = poison(offset);
    }
}

int main(int argc, char **argv)
{
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
    if (argc == 2 && !strcmp(argv[1], "--version"))
    {
        printf("winunwind 1\n");
        return 0;
    }
    if (argc != 2) fail("usage: winunwind IMAGE");

    load_image(argv[1]);
    stack = VirtualAlloc(NULL, STACK_SIZE, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!stack) fail("cannot allocate the stack");
    for (DWORD offset = 0; offset < STACK_SIZE; offset += 8) *(ULONG64 *)(stack + offset) = poison(offset);
    if (!AddVectoredExceptionHandler(1, on_fault)) fail("cannot add the exception handler");

    printf("ready size=0x%lx pdata=%lu stack=0x%x\n", (unsigned long)image_size, (unsigned long)pdata_count, STACK_SIZE);
    fflush(stdout);

    while (fgets(line, sizeof(line), stdin))
    {
        size_t n = strlen(line);
        if (n == sizeof(line) - 1 && line[n - 1] != '\n')
        {
            answer_error("", "query line-too-long");
            int c;
            while ((c = getchar()) != EOF && c != '\n') {}
        }
        else if (!strncmp(line, "q ", 2)) query(line + 2);
        else if (!strncmp(line, "ping", 4)) printf("pong\n");
        else if (!strncmp(line, "quit", 4)) break;
        else if (line[0] != '\n' && line[0] != '\r') answer_error("", "unknown-command");
        fflush(stdout);
    }
    return 0;
}

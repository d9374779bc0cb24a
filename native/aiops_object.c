// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Objects, programs, links and maps. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "aiops.h"
#include "aiops_log.h"

_Static_assert(sizeof(int32_t) == 4, "fixed-width results");

int32_t aiops_abi_version(void)
{
	return AIOPS_SHIM_ABI_VERSION;
}

int32_t aiops_object_open(const void *data, uint64_t size, const char *name, struct bpf_object **out)
{
	return aiops_object_open_btf(data, size, name, NULL, out);
}

int32_t aiops_object_open_btf(const void *data, uint64_t size, const char *name, const char *btf_path,
			      struct bpf_object **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .btf_custom_path = btf_path);
	struct bpf_object *obj;

	if (!data || !size || !out)
		return -EINVAL;
	aiops_log_begin(NULL, 0);
	obj = bpf_object__open_mem(data, size, &opts);
	if (!obj)
		return errno ? -errno : -EINVAL;
	*out = obj;
	return 0;
}

void aiops_object_close(struct bpf_object *obj)
{
	bpf_object__close(obj);
}

/* Finds the offset of a variable in the .rodata section through the object's BTF. */
static int rodata_offset(struct bpf_object *obj, const char *name, uint32_t *offset, uint32_t *size)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *sec;
	const struct btf_var_secinfo *vs;
	int id, i;

	if (!btf)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name) == 0) {
			*offset = vs->offset;
			*size = vs->size;
			return 0;
		}
	}
	return -ENOENT;
}

int32_t aiops_object_set_const(struct bpf_object *obj, const char *name, const void *value, uint32_t size)
{
	struct bpf_map *map = NULL, *m;
	uint32_t offset, var_size;
	size_t data_size;
	char *data;
	int err;

	bpf_object__for_each_map(m, obj) {
		const char *n = bpf_map__name(m);
		size_t len = strlen(n);

		/* libbpf names the map "<object prefix>.rodata". */
		if (len >= 7 && strcmp(n + len - 7, ".rodata") == 0)
			map = m;
	}
	if (!map)
		return -ENOENT;
	err = rodata_offset(obj, name, &offset, &var_size);
	if (err)
		return err;
	if (var_size != size)
		return -EINVAL;
	/* libbpf 1.1 returns const; the area is the writable image that load will use. */
	data = (char *)bpf_map__initial_value(map, &data_size);
	if (!data)
		return -EBUSY;
	if ((size_t)offset + size > data_size)
		return -EINVAL;
	memcpy(data + offset, value, size);
	return 0;
}

int32_t aiops_program_set_autoload(struct bpf_object *obj, const char *prog, int32_t autoload)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);

	if (!p)
		return -ENOENT;
	return bpf_program__set_autoload(p, autoload != 0);
}

int32_t aiops_map_set_max_entries(struct bpf_object *obj, const char *map, uint32_t max_entries)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, map);

	if (!m)
		return -ENOENT;
	return bpf_map__set_max_entries(m, max_entries);
}

int32_t aiops_object_load(struct bpf_object *obj, char *log, uint32_t log_size)
{
	int err;

	aiops_log_begin(log, log_size);
	err = bpf_object__load(obj);
	aiops_log_end();
	return err < 0 ? err : (err ? -err : 0);
}

int32_t aiops_program_attach(struct bpf_object *obj, const char *prog, struct bpf_link **out,
			     char *log, uint32_t log_size)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);
	struct bpf_link *link;
	int err;

	if (!p || !out)
		return -ENOENT;
	aiops_log_begin(log, log_size);
	link = bpf_program__attach(p);
	err = link ? 0 : (errno ? -errno : -EINVAL);
	aiops_log_end();
	if (!err)
		*out = link;
	return err;
}

int32_t aiops_link_destroy(struct bpf_link *link)
{
	return bpf_link__destroy(link);
}

int32_t aiops_map_fd(struct bpf_object *obj, const char *map)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, map);

	if (!m)
		return -ENOENT;
	return bpf_map__fd(m);
}

int32_t aiops_map_value_size(struct bpf_object *obj, const char *map)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, map);

	if (!m)
		return -ENOENT;
	return (int32_t)bpf_map__value_size(m);
}

static int is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

int32_t aiops_map_lookup(int32_t map_fd, const void *key, void *value, uint32_t value_size)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	uint64_t needed;
	int cpus;

	if (!key || !value)
		return -EINVAL;
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	needed = info.value_size;
	if (is_percpu(info.type)) {
		/* The kernel copies round_up(value_size, 8) per possible CPU (bpf_percpu_*_copy). */
		cpus = libbpf_num_possible_cpus();
		if (cpus < 0)
			return cpus;
		needed = ((needed + 7) & ~(uint64_t)7) * (uint64_t)cpus;
	}
	if (value_size < needed)
		return -ENOSPC;
	return bpf_map_lookup_elem(map_fd, key, value) ? -errno : 0;
}

int32_t aiops_program_run_on_cpu(struct bpf_object *obj, const char *prog, uint32_t cpu, uint32_t *retval)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);
	int err;

	if (!p)
		return -ENOENT;
	err = bpf_prog_test_run_opts(bpf_program__fd(p), &opts);
	if (err)
		return -errno;
	if (retval)
		*retval = opts.retval;
	return 0;
}

int32_t aiops_possible_cpus(void)
{
	return libbpf_num_possible_cpus();
}

int32_t aiops_probe_map_type(uint32_t map_type)
{
	return libbpf_probe_bpf_map_type((enum bpf_map_type)map_type, NULL);
}

int32_t aiops_probe_prog_type(uint32_t prog_type)
{
	return libbpf_probe_bpf_prog_type((enum bpf_prog_type)prog_type, NULL);
}

int32_t aiops_probe_helper(uint32_t prog_type, uint32_t helper_id)
{
	return libbpf_probe_bpf_helper((enum bpf_prog_type)prog_type, (enum bpf_func_id)helper_id, NULL);
}

int32_t aiops_probe_test_run_on_cpu(void)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_test_run_opts, run, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = 0);
	int fd, err, saved;

	fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, "GPL", insns, 2, NULL);
	if (fd < 0)
		return -errno;
	err = bpf_prog_test_run_opts(fd, &run);
	saved = errno;
	close(fd);
	if (!err)
		return 1;
	/* Before 5.10: raw_tp has no test run (ENOTSUPP, 524) or the attr's flags/cpu are unknown (EINVAL). */
	return saved == EINVAL || saved == 524 || saved == EOPNOTSUPP ? 0 : -saved;
}

/*
 * types.c - the table of entry types.
 *
 * Adding a feature adds its types here; existing types never change (a
 * changed schema would be a new type name).  Sorted by name.
 */
#include <string.h>

#include "dml/entry.h"

extern const struct dml_entry_type dml_type_genesis, dml_type_key_add, dml_type_key_revoke,
    dml_type_note, dml_type_dataset_publish, dml_type_model_train, dml_type_round_open,
    dml_type_round_aggregate, dml_type_round_close, dml_type_update_submit, dml_type_reward_pay;

static const struct dml_entry_type *const types[] = {
	&dml_type_dataset_publish,
	&dml_type_key_add,
	&dml_type_key_revoke,
	&dml_type_genesis,
	&dml_type_model_train,
	&dml_type_note,
	&dml_type_reward_pay,
	&dml_type_round_aggregate,
	&dml_type_round_close,
	&dml_type_round_open,
	&dml_type_update_submit,
};

const struct dml_entry_type *
dml_entry_type_find(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]->name) == n && memcmp(types[i]->name, name, n) == 0)
			return types[i];
	return NULL;
}

const struct dml_entry_type *
dml_entry_type_at(size_t i)
{
	return i < sizeof(types) / sizeof(types[0]) ? types[i] : NULL;
}

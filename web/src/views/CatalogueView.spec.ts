import { flushPromises, mount } from "@vue/test-utils";
import ElementPlus from "element-plus";
import { createPinia, setActivePinia } from "pinia";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import { i18n, setLocale } from "@/i18n";
import { useAuthStore } from "@/stores/auth";

const api = vi.hoisted(() => ({ syncs: 0, lists: 0 }));
vi.mock("@/services/scripts", () => ({
  scriptService: {
    all: () => {
      api.lists += 1;
      return Promise.resolve([{ id: 1, name: "ops/backup", description: "", my_level: "manage" }]);
    },
    sync: () => {
      api.syncs += 1;
      return Promise.resolve({ added: 2, updated: 1, deactivated: 0 });
    },
  },
}));
vi.mock("@/services/stats", () => ({ statsService: { overview: () => Promise.resolve({ scripts: [] }) } }));

const { default: CatalogueView } = await import("./CatalogueView.vue");

async function open(canSync: boolean) {
  setLocale("en");
  const pinia = createPinia();
  setActivePinia(pinia);
  useAuthStore().me = { authenticated: true, username: "ann", is_staff: false, groups: [], can_sync: canSync };
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: "/", name: "catalogue", component: CatalogueView },
      { path: "/scripts/:id/run", name: "run", component: { template: "<div />" } },
      { path: "/history", name: "history", component: { template: "<div />" } },
    ],
  });
  await router.push("/");
  const wrapper = mount(CatalogueView, { global: { plugins: [ElementPlus, i18n, pinia, router] } });
  await flushPromises();
  return wrapper;
}

describe("CatalogueView's Sync now", () => {
  beforeEach(() => {
    api.syncs = 0;
    api.lists = 0;
  });

  it("is offered to whom the server says may sync, syncs, then lists again", async () => {
    const wrapper = await open(true);
    expect(api.lists).toBe(1);
    await wrapper.find('[data-test="sync-now"]').trigger("click");
    await flushPromises();
    expect(api.syncs).toBe(1);
    expect(api.lists).toBe(2);
  });

  it("is not offered to anyone else", async () => {
    const wrapper = await open(false);
    expect(wrapper.find('[data-test="sync-now"]').exists()).toBe(false);
  });
});

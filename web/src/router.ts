import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { setUnauthorizedHandler } from "@/api/client";
import { useAuthStore } from "@/stores/auth";

const routes: RouteRecordRaw[] = [
  { path: "/login", name: "login", component: () => import("@/views/LoginView.vue"), meta: { public: true } },
  { path: "/", redirect: { name: "scripts" } },
  { path: "/scripts", name: "scripts", component: () => import("@/views/CatalogueView.vue") },
  { path: "/scripts/:id/run", name: "run", component: () => import("@/views/RunView.vue"), props: true },
  { path: "/executions/:id", name: "execution", component: () => import("@/views/ExecutionView.vue"), props: true },
  { path: "/history", name: "history", component: () => import("@/views/HistoryView.vue") },
  { path: "/results", name: "results", component: () => import("@/views/ResultsView.vue") },
  { path: "/overview", name: "overview", component: () => import("@/views/OverviewView.vue") },
  { path: "/:pathMatch(.*)*", name: "not-found", component: () => import("@/views/NotFoundView.vue") },
];

export const router = createRouter({ history: createWebHistory("/"), routes });

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  const auth = useAuthStore();
  try {
    if (await auth.ensure()) return true;
  } catch {
    /* the server did not answer: the sign-in page says so */
  }
  return { name: "login", query: { next: to.fullPath } };
});

setUnauthorizedHandler(() => {
  const current = router.currentRoute.value;
  useAuthStore().forget();
  if (!current.meta.public) void router.push({ name: "login", query: { next: current.fullPath } });
});

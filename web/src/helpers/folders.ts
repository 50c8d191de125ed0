// Script names use "/" for folders ("ops/backup"): the folder tree of a catalogue.

export interface FolderNode {
  path: string;
  label: string;
  count: number;
  children: FolderNode[];
}

export function folderOf(name: string): string {
  const cut = name.lastIndexOf("/");
  return cut < 0 ? "" : name.slice(0, cut);
}

export function inFolder(name: string, folder: string): boolean {
  return !folder || name.startsWith(`${folder}/`);
}

/** The folders of these names, each with how many scripts it holds (subfolders included). */
export function folderTree(names: string[]): FolderNode[] {
  const root: FolderNode = { path: "", label: "", count: 0, children: [] };
  for (const name of names) {
    const parts = name.split("/").slice(0, -1);
    let node = root;
    parts.forEach((part, i) => {
      const path = parts.slice(0, i + 1).join("/");
      let child = node.children.find((c) => c.path === path);
      if (!child) {
        child = { path, label: part, count: 0, children: [] };
        node.children.push(child);
      }
      child.count += 1;
      node = child;
    });
  }
  const sort = (nodes: FolderNode[]): FolderNode[] =>
    nodes.sort((a, b) => a.label.localeCompare(b.label)).map((n) => ({ ...n, children: sort(n.children) }));
  return sort(root.children);
}

/** Case-insensitive match on the name and the description. */
export function matches(script: { name: string; description?: string }, search: string): boolean {
  const needle = search.trim().toLowerCase();
  if (!needle) return true;
  return script.name.toLowerCase().includes(needle) || (script.description ?? "").toLowerCase().includes(needle);
}

declare module "anywidget-factory" {
  const create: (base: unknown) => { AnyModel: unknown; AnyView: unknown };
  export default create;
}
declare module "*.css" {
  const text: string;
  export default text;
}
